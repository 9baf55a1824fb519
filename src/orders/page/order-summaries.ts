import {
  type DeliveryView,
  type OutpostDb,
  readDeliveryViews,
  readModelTable,
  readWithDeliveries,
} from '../../outbox/page';
import type { OrderStatus } from '../domain/order';
import { listCountKey, type OrderCount } from '../order-count-rows';
import type { OrderSummary } from '../read-models';
import { streamIdOf } from '../stream-ids';

/**
 * The orders list's read: a window of order summaries, each with its delivery, and how many match. Apart from
 * the order screen's read because the first screen renders it: nothing it does not need may reach that bundle.
 */

export interface OrderSummaryQuery {
  readonly status?: OrderStatus;
  /** Prefix of the customer's name, case-insensitive. */
  readonly search?: string;
  readonly offset?: number;
  readonly limit?: number;
}

/** A row of the list: the order's summary and where its changes are. */
export interface ListedOrder extends OrderSummary {
  readonly delivery: DeliveryView;
}

export interface OrderSummaryPage {
  /** The requested window of matching orders. */
  readonly rows: readonly ListedOrder[];
  /** How many orders match in all, so a virtual list can size itself without loading them. */
  readonly total: number;
  /** When a lease over a shown order passes and the window must be read again; null when none is live. */
  readonly changesAt: number | null;
}

const ordersTable = (db: OutpostDb) => readModelTable<OrderSummary>(db, 'orders');

/** IndexedDB's highest string character: `key` to `key + LAST` spans every string that starts with `key`. */
const LAST = '\uffff';

const searchKeyOf = (query: OrderSummaryQuery): string => query.search?.trim().toLowerCase() ?? '';

/**
 * The matching summaries as one range of one index, so both the window and (for a search) the count are a
 * single native request that never runs script per row: newest first by id (a UUIDv7, so creation order)
 * through the primary key or the `status` index; a customer search, alphabetically, through `customerKey` or
 * `[status+customerKey]`.
 */
function matchingSummaries(db: OutpostDb, query: OrderSummaryQuery) {
  const key = searchKeyOf(query);
  const { status } = query;
  const table = ordersTable(db);
  if (key) {
    return status
      ? table.where('[status+customerKey]').between([status, key], [status, key + LAST], true, true)
      : table.where('customerKey').startsWith(key);
  }
  // Index entries of equal status are ordered by primary key, so this is newest first too.
  if (status) return table.where('status').equals(status).reverse();
  return table.toCollection().reverse();
}

/**
 * How many orders match. Without a search, the counter the projections keep for the filter (one row,
 * however many orders); a search counts its index range, which holds only the orders whose name starts so.
 */
async function countMatching(db: OutpostDb, query: OrderSummaryQuery): Promise<number> {
  if (searchKeyOf(query)) return matchingSummaries(db, query).count();
  const counter = await readModelTable<OrderCount>(db, 'orderCounts').get(listCountKey(query.status));
  return counter?.count ?? 0;
}

/**
 * A window of the orders list and how many match in all, as shown at `now`: each summary with its delivery,
 * and when a lease passes so the window must be derived again. The window skips `offset` entries of the
 * index natively (a cursor's advance) and reads `limit` rows: at the top of the list, where new orders
 * appear, it reads the rows shown and nothing else.
 *
 * One read transaction for all of it: the list reads again after every write, and each transaction of its
 * own is a round trip that the next command's write, which spans the same tables, waits behind. Without a
 * filter the window is a run of consecutive order ids, so its deliveries are one key range, not a `get` each.
 */
export async function readOrderSummaries(
  db: OutpostDb,
  query: OrderSummaryQuery,
  now: number,
): Promise<OrderSummaryPage> {
  return readWithDeliveries(db, ['orders', 'orderCounts'], async () => {
    let window = matchingSummaries(db, query);
    if (query.offset) window = window.offset(query.offset);
    if (query.limit !== undefined) window = window.limit(query.limit);
    const [total, rows] = await Promise.all([countMatching(db, query), window.toArray()]);
    const streamIds = rows.map((summary) => streamIdOf(summary.id));
    const consecutive = !query.status && !searchKeyOf(query);
    const { deliveries, changesAt } = await readDeliveryViews(db, streamIds, now, { range: consecutive });
    return {
      rows: rows.map((summary, index) => ({ ...summary, delivery: deliveries[index] as DeliveryView })),
      total,
      changesAt,
    };
  });
}
