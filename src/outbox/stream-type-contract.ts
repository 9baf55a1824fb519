import type * as v from 'valibot';
import type { AnyStreamType, StreamChange } from './stream-type';
import { StreamTypeError } from './stream-type-errors';

/**
 * The checks `defineStreamType` and `createStreamTypes` run on a stream type before anything uses it. Most
 * read the value (a name, schemas, functions, index specs); two run its pure functions once per declared
 * event, on data built from the event's own schema: `evolve` must give a state for every event it declares
 * (a late server event must never throw), and its read models may name only the tables they declare (an
 * undeclared one would abort the first command's transaction, far from the mistake).
 */

const NAME = /^[a-z][a-z0-9]*$/;

/** The `type` literals of a `v.variant('type', [...])` of objects, with each option's entries. */
interface VariantOption {
  readonly type: string;
  readonly data: v.GenericSchema | undefined;
}

interface SchemaShape {
  readonly kind?: unknown;
  readonly type?: unknown;
  readonly key?: unknown;
  readonly options?: readonly SchemaShape[];
  readonly entries?: Readonly<Record<string, SchemaShape>>;
  readonly literal?: unknown;
  readonly item?: SchemaShape;
  readonly wrapped?: SchemaShape;
  readonly pipe?: readonly {
    readonly kind?: unknown;
    readonly type?: unknown;
    readonly requirement?: unknown;
  }[];
  readonly value?: SchemaShape;
  readonly items?: readonly SchemaShape[];
  readonly default?: unknown;
}

const isSchema = (value: unknown): value is v.GenericSchema =>
  typeof value === 'object' && value !== null && (value as SchemaShape).kind === 'schema';

/** The options of a variant on `type`; throws a `not_a_variant` error naming `field` otherwise. */
export function variantOptions(schema: unknown, streamType: string, field: string): VariantOption[] {
  const variant = schema as SchemaShape;
  if (variant?.type !== 'variant' || variant.key !== 'type' || !variant.options) {
    throw new StreamTypeError('not_a_variant', streamType, field, "must be v.variant('type', [...])");
  }
  return variant.options.map((option, index) => {
    const literal = option.entries?.type?.literal;
    if (typeof literal !== 'string') {
      throw new StreamTypeError('not_a_variant', streamType, `${field}[${index}]`, 'needs a literal `type`');
    }
    return { type: literal, data: option.entries?.data as v.GenericSchema | undefined };
  });
}

/**
 * A value of the schema's shape, valid as far as its type and its simplest requirements go (a UUID, a
 * timestamp, a minimum length or value): what a real event of that type looks like to `evolve`.
 */
export function sampleOf(schema: SchemaShape | undefined, depth = 0): unknown {
  if (!schema || depth > 20) return undefined;
  const requirement = (type: string) => schema.pipe?.find((action) => action.type === type)?.requirement;
  switch (schema.type) {
    case 'string': {
      if (schema.pipe?.some((action) => action.type === 'uuid'))
        return '00000000-0000-7000-8000-000000000000';
      if (schema.pipe?.some((action) => action.type === 'iso_timestamp' || action.type === 'iso_date_time')) {
        return '2000-01-01T00:00:00.000Z';
      }
      const length = requirement('min_length');
      return 'x'.repeat(typeof length === 'number' ? Math.max(1, length) : 1);
    }
    case 'number': {
      const min = requirement('min_value');
      return typeof min === 'number' ? Math.max(min, 1) : 1;
    }
    case 'boolean':
      return false;
    case 'literal':
      return schema.literal;
    case 'picklist':
    case 'enum':
      return (schema.options as readonly unknown[] | undefined)?.[0];
    case 'null':
    case 'nullable':
    case 'nullish':
      return null;
    case 'optional':
    case 'exact_optional':
    case 'undefinedable':
      return schema.default !== undefined ? schema.default : undefined;
    case 'object':
    case 'strict_object':
    case 'loose_object':
      return Object.fromEntries(
        Object.entries(schema.entries ?? {}).map(([key, entry]) => [key, sampleOf(entry, depth + 1)]),
      );
    case 'array': {
      const length = requirement('min_length');
      return Array.from({ length: typeof length === 'number' ? length : 0 }, () =>
        sampleOf(schema.item, depth + 1),
      );
    }
    case 'tuple':
    case 'strict_tuple':
    case 'loose_tuple':
      return (schema.items ?? []).map((item) => sampleOf(item, depth + 1));
    case 'record':
      return {};
    case 'union':
    case 'variant':
      return sampleOf(schema.options?.[0], depth + 1);
    default:
      return undefined;
  }
}

const describe = (error: unknown) => (error instanceof Error ? error.message : String(error));

/** Every check of the contract that needs only the stream type itself; throws the first breach. */
export function checkStreamType(type: AnyStreamType): void {
  const name = String((type as { name?: unknown }).name);
  if (typeof type.name !== 'string' || !NAME.test(type.name)) {
    throw new StreamTypeError(
      'bad_name',
      name,
      'name',
      'must be lowercase letters and digits, starting with a letter',
    );
  }
  for (const field of ['commands', 'events', 'serverEvents'] as const) {
    if (!isSchema(type[field])) throw new StreamTypeError('missing', name, field, 'must be a valibot schema');
  }
  for (const field of ['idOf', 'decide', 'evolve'] as const) {
    if (typeof type[field] !== 'function')
      throw new StreamTypeError('missing', name, field, 'must be a function');
  }
  if (type.initialState === undefined) {
    throw new StreamTypeError('missing', name, 'initialState', 'must be a state, not undefined');
  }
  const readModels = type.readModels as Partial<AnyStreamType['readModels']> | undefined;
  if (typeof readModels?.tables !== 'object' || readModels.tables === null) {
    throw new StreamTypeError('missing', name, 'readModels.tables', 'must name its tables (an object)');
  }
  if (typeof readModels.rows !== 'function') {
    throw new StreamTypeError('missing', name, 'readModels.rows', 'must be a function');
  }
  for (const [table, spec] of Object.entries(readModels.tables)) {
    if (typeof spec !== 'string' || !spec.startsWith('&id')) {
      throw new StreamTypeError(
        'table_not_keyed_by_id',
        name,
        `readModels.tables.${table}`,
        "must start with '&id'",
      );
    }
  }
  variantOptions(type.commands, name, 'commands');
  const declared = [
    ...variantOptions(type.events, name, 'events').map((option) => ({ ...option, kind: 'client' as const })),
    ...variantOptions(type.serverEvents, name, 'serverEvents').map((option) => ({
      ...option,
      kind: 'server' as const,
    })),
  ];
  for (const option of declared) probeEvent(type, option);
}

/** Folds one sample event of each declared type and hands the step to the read models, as the core does. */
function probeEvent(type: AnyStreamType, option: VariantOption & { readonly kind: 'client' | 'server' }) {
  const name = type.name;
  const data = sampleOf(option.data as SchemaShape | undefined);
  const streamId = `${name}-00000000-0000-7000-8000-000000000000`;
  const envelope = {
    eventId: '00000000-0000-7000-8000-000000000001',
    streamId,
    occurredAt: '2000-01-01T00:00:00.000Z',
  };
  const event =
    option.kind === 'client'
      ? { ...envelope, kind: 'client' as const, version: 1, type: option.type, data }
      : { ...envelope, kind: 'server' as const, serverSeq: 1, type: option.type, data };
  let after: unknown;
  try {
    after = type.evolve(type.initialState, event);
  } catch (error) {
    throw new StreamTypeError(
      'evolve_not_total',
      name,
      `evolve(${option.type})`,
      `throws: ${describe(error)}`,
    );
  }
  if (after === undefined) {
    throw new StreamTypeError('evolve_not_total', name, `evolve(${option.type})`, 'returns no state');
  }
  const change: StreamChange<unknown, never, never> = {
    streamId,
    id: '00000000-0000-7000-8000-000000000000',
    before: type.initialState,
    after,
    event: event as never,
    version: 1,
    createdAt: envelope.occurredAt,
    updatedAt: envelope.occurredAt,
  };
  const tables = type.readModels.tables;
  for (const field of ['rows', 'counters'] as const) {
    const project = type.readModels[field] as ((change: unknown) => unknown) | undefined;
    if (!project) continue;
    let named: string[];
    try {
      const result = project.call(type.readModels, change);
      named =
        field === 'rows'
          ? Object.entries(result as Record<string, unknown>)
              .filter(([, row]) => row !== undefined)
              .map(([table]) => table)
          : (result as readonly { readonly table: string }[]).map((increment) => increment.table);
    } catch (error) {
      throw new StreamTypeError(
        'read_model_not_total',
        name,
        `readModels.${field}`,
        `throws for a ${option.type} event: ${describe(error)}`,
      );
    }
    const undeclared = named.find((table) => !(table in tables));
    if (undeclared !== undefined) {
      throw new StreamTypeError(
        'undeclared_table',
        name,
        `readModels.${field}`,
        `names table ${undeclared} for a ${option.type} event, which readModels.tables does not declare`,
      );
    }
  }
}
