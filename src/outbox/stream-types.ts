import type * as v from 'valibot';
import type { AnyStreamType } from './stream-type';

/**
 * The stream types one app is composed of, looked up by name, by stream id and by command type. Built once
 * per composition root (page, worker, mock, server) from the same list, so every side reads a stream the
 * same way.
 */
export interface StreamTypes {
  readonly all: readonly AnyStreamType[];
  byName(name: string): AnyStreamType | undefined;
  /** The stream type and aggregate id a stream id names, or null when this app has no such type. */
  parse(streamId: string): { readonly type: AnyStreamType; readonly id: string } | null;
  /** The stream type whose commands include `type`; undefined for a command no stream type knows. */
  byCommandType(type: unknown): AnyStreamType | undefined;
  /** Every stream type's read-model tables, by name (the names are unique across the app). */
  readonly tables: Readonly<Record<string, string>>;
}

/** `<name>-<uuid>`: the stream id of aggregate `id` of the type named `name`. */
export const streamIdFor = (name: string, id: string): string => `${name}-${id}`;

const STREAM_ID = /^([a-z][a-z0-9]*)-([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/i;

/** The type name and aggregate id of a well-formed stream id, whatever types the app has; null otherwise. */
export function splitStreamId(streamId: string): { readonly name: string; readonly id: string } | null {
  const match = STREAM_ID.exec(streamId);
  return match?.[1] && match[2] ? { name: match[1], id: match[2] } : null;
}

/**
 * The literal `type` of each option of a command schema built with `v.variant('type', …)`. Read from the
 * schema itself, so a stream type never repeats its command names in a second list that could drift.
 */
function commandTypesOf(schema: v.GenericSchema): string[] {
  const variant = schema as unknown as {
    readonly type?: string;
    readonly key?: string;
    readonly options?: readonly { readonly entries?: { readonly type?: { readonly literal?: unknown } } }[];
  };
  if (variant.type !== 'variant' || variant.key !== 'type' || !variant.options) {
    throw new TypeError("A stream type's commands must be v.variant('type', [...])");
  }
  return variant.options.map((option) => {
    const literal = option.entries?.type?.literal;
    if (typeof literal !== 'string') throw new TypeError('Each command option needs a literal type');
    return literal;
  });
}

export function createStreamTypes(list: readonly AnyStreamType[]): StreamTypes {
  const byName = new Map<string, AnyStreamType>();
  const byCommand = new Map<string, AnyStreamType>();
  const tables: Record<string, string> = {};
  for (const type of list) {
    if (byName.has(type.name)) throw new TypeError(`Two stream types are named ${type.name}`);
    byName.set(type.name, type);
    for (const command of commandTypesOf(type.commands)) {
      const other = byCommand.get(command);
      if (other) throw new TypeError(`Command ${command} belongs to both ${other.name} and ${type.name}`);
      byCommand.set(command, type);
    }
    for (const [table, spec] of Object.entries(type.readModels.tables)) {
      if (table in tables) throw new TypeError(`Two stream types declare the read-model table ${table}`);
      tables[table] = spec;
    }
  }
  return {
    all: list,
    byName: (name) => byName.get(name),
    parse(streamId) {
      const split = splitStreamId(streamId);
      const type = split ? byName.get(split.name) : undefined;
      return split && type ? { type, id: split.id } : null;
    },
    byCommandType: (type) => (typeof type === 'string' ? byCommand.get(type) : undefined),
    tables,
  };
}
