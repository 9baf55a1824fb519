import type { CounterIncrement, ReadModels, StreamChange } from '../outbox';
import { type StockCountCountKey, stockCountListKey } from './count-rows';
import type { ClientStockCountEvent, CountLine, ServerStockCountEvent } from './domain/events';
import {
  type CountRejection,
  type StockCountState,
  type StockCountStatus,
  unitsCounted,
} from './domain/stock-count';
import { stockCountLayout } from './layout';

/**
 * The stock count's read models: one row per count in `stockCounts` (what the list shows and filters on)
 * and one in `stockCountLines` (the count sheet). Both are the count's state after each change, so a
 * rebuild reproduces them exactly. Rows hold facts; wording them is the screen's job.
 */

/** A row of the stock counts list. */
export interface StockCountSummary {
  /** The count's id (its stream is `stockcount-<id>`). */
  readonly id: string;
  readonly location: string;
  readonly status: StockCountStatus;
  readonly lineCount: number;
  readonly unitsCounted: number;
  /** The server's number once it accepted the count (`SC-000042`). */
  readonly countNumber: string | null;
  readonly acceptedAt: string | null;
  /** Why the server refused the count and which skus to recount. */
  readonly rejection: CountRejection | null;
  readonly abandonReason: string | null;
  /** The stream's client version: how many changes the person made. */
  readonly version: number;
  readonly createdAt: string;
  readonly updatedAt: string;
}

/** The count sheet: its lines in the order they were first counted. */
export interface StockCountLines {
  readonly id: string;
  readonly lines: readonly CountLine[];
}

/** The count's tables (its layout), for whoever reads them. */
export const STOCKCOUNT_TABLES = stockCountLayout.tables;

export type StockCountChange = StreamChange<StockCountState, ClientStockCountEvent, ServerStockCountEvent>;

export const stockCountReadModels: ReadModels<StockCountState, ClientStockCountEvent, ServerStockCountEvent> =
  {
    tables: STOCKCOUNT_TABLES,
    rows(change: StockCountChange) {
      const { after, before, id } = change;
      // A discard can take back everything down to CountStarted: the person still sees which count it was
      // (with no lines) and why it is held, so the last state that had a count in it stays on the list.
      const shown =
        after.status !== 'none' ? after : before.status !== 'none' ? { ...before, lines: [] } : null;
      if (!shown) return {};
      const summary: StockCountSummary = {
        id,
        location: shown.location,
        status: shown.status,
        lineCount: shown.lines.length,
        unitsCounted: unitsCounted(shown.lines),
        countNumber: shown.countNumber,
        acceptedAt: shown.acceptedAt,
        rejection: shown.rejection,
        abandonReason: shown.abandonReason,
        version: change.version,
        createdAt: change.createdAt,
        updatedAt: change.updatedAt,
      };
      const sheet: StockCountLines = { id, lines: shown.lines };
      return { stockCounts: summary, stockCountLines: sheet };
    },
    counters: listCounters,
  };

/**
 * The list's totals follow the status its row shows: a step that leaves no count in the state (a discard
 * down to before CountStarted) keeps the row, and so its place in the totals, as it was (`rows`).
 */
function listCounters({ before, after }: StockCountChange): CounterIncrement[] {
  const listedBefore = before.status === 'none' ? null : before.status;
  const listedAfter = after.status === 'none' ? listedBefore : after.status;
  if (listedBefore === listedAfter) return [];
  const count = (id: StockCountCountKey, by: number): CounterIncrement => ({
    table: 'stockCountCounts',
    id,
    add: { count: by },
  });
  const increments = [listedBefore === null ? count('all', 1) : count(stockCountListKey(listedBefore), -1)];
  if (listedAfter !== null) increments.push(count(stockCountListKey(listedAfter), 1));
  return increments;
}
