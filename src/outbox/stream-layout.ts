import type { AnyStreamType } from './stream-type';
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
  for (const layout of layouts) {
    for (const [table, spec] of Object.entries(layout.tables)) {
      if (table in tables) throw new TypeError(`Two stream types declare the read-model table ${table}`);
      tables[table] = spec;
    }
  }
  return tables;
}

/** Whether loaded stream types are the ones the layouts promised: same names, same tables, same specs. */
export function sameLayouts(layouts: readonly StreamLayout[], types: StreamTypes): boolean {
  const expected = JSON.stringify(layouts.map((layout) => [layout.name, layout.tables]));
  return expected === JSON.stringify(types.all.map((type) => [type.name, type.readModels.tables]));
}
