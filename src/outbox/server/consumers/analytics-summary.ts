import type { CounterRow } from '../../stream-type';
import type { ReactionRegistry } from './reaction-registry';

/** A counter row as stored: which table and row, which field, its sum. */
export interface CounterCell {
  readonly table: string;
  readonly id: string;
  readonly field: string;
  readonly value: number;
}

/** `GET /api/analytics/summary`: every counter table's rows, and the figures the stream types derive. */
export interface AnalyticsSummary {
  readonly tables: Readonly<Record<string, readonly CounterRow[]>>;
  readonly figures: Readonly<Record<string, number | null>>;
}

/** Reads the analytics service's counters, summed for one owner or (null) for everybody. */
export interface AnalyticsReader {
  /** Each cell summed over the owners asked for, in any order; owner '' reads the events that had none. */
  counterCells(owner: string | null): Promise<readonly CounterCell[]>;
}

/** The summary from the summed cells: rows sorted by id, each table's fields as the reactions named them. */
export function summarizeAnalytics(
  registry: ReactionRegistry,
  cells: readonly CounterCell[],
): AnalyticsSummary {
  const rows = new Map<string, Map<string, Record<string, number | string>>>();
  for (const { table, id, field, value } of cells) {
    const byId = rows.get(table) ?? new Map<string, Record<string, number | string>>();
    rows.set(table, byId);
    const row = byId.get(id) ?? { id };
    byId.set(id, row);
    row[field] = (typeof row[field] === 'number' ? row[field] : 0) + value;
  }
  const tables: Record<string, CounterRow[]> = {};
  for (const [table, byId] of [...rows].sort(([a], [b]) => (a < b ? -1 : 1))) {
    tables[table] = [...byId.values()]
      .sort((a, b) => (String(a.id) < String(b.id) ? -1 : 1))
      .map((row) => row as CounterRow);
  }
  const figures: Record<string, number | null> = {};
  for (const entry of registry.all) Object.assign(figures, entry.reactions.figures?.(tables) ?? {});
  return { tables, figures };
}
