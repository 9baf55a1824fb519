import type { AnyStreamType } from './stream-type';
import { StreamTypeError } from './stream-type-errors';
import type { StreamTypes } from './stream-types';

/**
 * What a database needs of a stream type before any of its code has loaded: its name and its read-model
 * tables. A page can open its database, read its lists and show them with these alone, and load the stream
 * types themselves (schemas, deciders, server policies) only when the first command, sync or stream screen
 * needs them, so a heavy plug-in does not weigh on the first screen.
 */
export interface StreamLayout {
  readonly name: string;
  /** Index specs in Dexie's notation, `id` first, as the stream type's `readModels.tables`. */
  readonly tables: Readonly<Record<string, string>>;
}

/** Stream types given as their layouts now and their code later. */
export interface DeferredStreamTypes {
  readonly layouts: readonly StreamLayout[];
  /** Loads the stream types; their layouts must be exactly `layouts` (checked when they arrive). */
  load(): Promise<StreamTypes>;
}

export const layoutOf = (type: AnyStreamType): StreamLayout => ({
  name: type.name,
  tables: type.readModels.tables,
});

export const isDeferred = (types: StreamTypes | DeferredStreamTypes): types is DeferredStreamTypes =>
  'load' in types;

/** Every layout's tables, by name; a table two layouts declare is a composition error. */
export function tablesOf(layouts: readonly StreamLayout[]): Record<string, string> {
  const tables: Record<string, string> = {};
  const owners: Record<string, string> = {};
  for (const layout of layouts) {
    for (const [table, spec] of Object.entries(layout.tables)) {
      const owner = owners[table];
      if (owner !== undefined) {
        throw new StreamTypeError(
          'duplicate_table',
          layout.name,
          `readModels.tables.${table}`,
          `${owner} declares this table already`,
        );
      }
      owners[table] = layout.name;
      tables[table] = spec;
    }
  }
  return tables;
}

/**
 * Loaded stream types must be the ones the layouts promised: same names in the same order, same tables,
 * same specs. Throws a `StreamTypeError` naming the first that differs.
 */
export function checkSameLayouts(layouts: readonly StreamLayout[], types: StreamTypes): void {
  const count = Math.max(layouts.length, types.all.length);
  for (let index = 0; index < count; index += 1) {
    const layout = layouts[index];
    const type = types.all[index];
    if (layout?.name !== type?.name) {
      throw new StreamTypeError(
        'layout_mismatch',
        type?.name ?? layout?.name ?? '',
        'name',
        `the database was opened for ${layout?.name ?? 'no stream type'} here, and ${type?.name ?? 'none'} loaded`,
      );
    }
    if (JSON.stringify(layout?.tables) !== JSON.stringify(type?.readModels.tables)) {
      throw new StreamTypeError(
        'layout_mismatch',
        type?.name ?? '',
        'readModels.tables',
        'differs from the layout the database was opened with',
      );
    }
  }
}
