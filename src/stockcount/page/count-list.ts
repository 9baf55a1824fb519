import { type DeliveryView, type OutpostDb, readDeliveryViews, readModelTable } from '../../outbox/page';
import { type StockCountCount, stockCountListKey } from '../count-rows';
import type { StockCountStatus } from '../domain/stock-count';
import type { StockCountSummary } from '../read-models';
import { streamIdOf } from '../stream-ids';

/** The stock counts list's read: the newest counts, each with its delivery, and how many there are. */

export interface StockCountQuery {
  readonly status?: StockCountStatus;
  readonly limit: number;
}

/** A row of the list: the count's summary and where its changes are. */
export interface ListedStockCount extends StockCountSummary {
  readonly delivery: DeliveryView;
}

export interface StockCountPage {
  readonly rows: readonly ListedStockCount[];
  /** How many counts match in all. */
  readonly total: number;
  /** When a lease over a shown count passes and the list must be read again; null when none is live. */
  readonly changesAt: number | null;
}

/**
 * Newest first by id (a UUIDv7, so the order they were started) through the primary key or the `status`
 * index, reading no more than `limit` rows: a stockroom keeps months of closed counts on the device.
 */
export async function readStockCounts(
  db: OutpostDb,
  query: StockCountQuery,
  now: number,
): Promise<StockCountPage> {
  const table = readModelTable<StockCountSummary>(db, 'stockCounts');
  const matching = () =>
    query.status ? table.where('status').equals(query.status).reverse() : table.toCollection().reverse();
  // The total is the counter row the projections keep: one row, however many counts the device holds.
  const [counter, rows] = await Promise.all([
    readModelTable<StockCountCount>(db, 'stockCountCounts').get(stockCountListKey(query.status)),
    matching().limit(query.limit).toArray(),
  ]);
  const total = counter?.count ?? 0;
  const { deliveries, changesAt } = await readDeliveryViews(
    db,
    rows.map((row) => streamIdOf(row.id)),
    now,
  );
  return {
    rows: rows.map((row, index) => ({ ...row, delivery: deliveries[index] as DeliveryView })),
    total,
    changesAt,
  };
}
