import type * as v from 'valibot';
import { splitStreamId } from './stream-ids';
import type { AnyStreamType } from './stream-type';

/**
 * The stream types one app is composed of, looked up by name, by stream id and by command type. Built once
 * per composition root (page, worker, mock, server) from the same list, so every side reads a stream the
 * same way.
 */
export interface StreamTypes<T extends AnyStreamType = AnyStreamType> {
  readonly all: readonly T[];
  byName(name: string): T | undefined;
  /** The stream type and aggregate id a stream id names, or null when this app has no such type. */
  parse(streamId: string): { readonly type: T; readonly id: string } | null;
  /** The stream type whose commands include `type`; undefined for a command no stream type knows. */
  byCommandType(type: unknown): T | undefined;
  /** Every stream type's read-model tables, by name (the names are unique across the app). */
  readonly tables: Readonly<Record<string, string>>;
}

export { splitStreamId, streamIdFor } from './stream-ids';

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

export function createStreamTypes<T extends AnyStreamType>(list: readonly T[]): StreamTypes<T> {
  const byName = new Map<string, T>();
  const byCommand = new Map<string, T>();
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
