import { splitStreamId } from './stream-ids';
import type { AnyStreamType } from './stream-type';
import { checkStreamType, variantOptions } from './stream-type-contract';
import { StreamTypeError } from './stream-type-errors';

/** Stream types already checked, so a list built twice (tests, tools) checks each once. */
const checked = new WeakSet<AnyStreamType>();

/**
 * The stream types one app is composed of, looked up by name, by stream id and by command type. Built once
 * per composition root (page, worker, mock, server) from the same list, so every side reads a stream the
 * same way.
 */
export interface StreamTypes<T extends AnyStreamType = AnyStreamType> {
  readonly all: readonly T[];
  /** The stream type of that name; undefined when the app has none. */
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
 * The stream types of one app, each checked against the contract (`defineStreamType` does it too; a type
 * built by hand is checked here), and against each other: one name, one command type and one read-model
 * table belong to one stream type only. A breach throws a `StreamTypeError`.
 */
export function createStreamTypes<T extends AnyStreamType>(list: readonly T[]): StreamTypes<T> {
  const byName = new Map<string, T>();
  const byCommand = new Map<string, T>();
  const tables: Record<string, string> = {};
  for (const type of list) {
    if (!checked.has(type)) {
      checkStreamType(type);
      checked.add(type);
    }
    if (byName.has(type.name)) {
      throw new StreamTypeError('duplicate_name', type.name, 'name', 'another stream type of the app has it');
    }
    byName.set(type.name, type);
    for (const { type: command } of variantOptions(type.commands, type.name, 'commands')) {
      const other = byCommand.get(command);
      if (other) {
        throw new StreamTypeError(
          'duplicate_command',
          type.name,
          'commands',
          `${command} is ${other.name}'s already`,
        );
      }
      byCommand.set(command, type);
    }
    for (const [table, spec] of Object.entries(type.readModels.tables)) {
      const owner = list.find((candidate) => candidate !== type && table in candidate.readModels.tables);
      if (table in tables && owner) {
        throw new StreamTypeError(
          'duplicate_table',
          type.name,
          `readModels.tables.${table}`,
          `${owner.name} declares this table already`,
        );
      }
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
