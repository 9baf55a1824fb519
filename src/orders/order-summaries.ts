import type { OrderSummaryView, OutpostDb } from '../outbox/client/db';
import { leasedOrderIds, liveLeases, nextLeaseChange, summaryView } from '../outbox/client/outbox-view';
import type { OrderStatus } from './domain/order';

/**
 * The orders list's read: a window of order summaries and how many match. Apart from the other live views
 * (`queries.ts`) because the first screen renders it: nothing it does not need may reach that bundle.
 */

export interface OrderSummaryQuery {
  readonly status?: OrderStatus;
  /** Prefix of the customer's name, case-insensitive. */
  readonly search?: string;
  readonly offset?: number;
  readonly limit?: number;
}

export interface OrderSummaryPage {
  /** The requested window of matching orders. */
  readonly rows: readonly OrderSummaryView[];
  /** How many orders match in all, so a virtual list can size itself without loading them. */
  readonly total: number;
  /** When a lease over a shown order passes and the window must be read again; null when none is live. */
  readonly changesAt: number | null;
}

/**
 * Newest first by orderId (a UUIDv7, so creation order) through the primary key or the `status` index; a
 * customer search walks the `customerKey` index instead, alphabetically. Neither reads more than the
 * matching rows.
 */
function matchingSummaries(db: OutpostDb, query: OrderSummaryQuery) {
  const key = query.search?.trim().toLowerCase() ?? '';
  const { status } = query;
  if (key) {
    const matches = db.orderSummaries.where('customerKey').startsWith(key);
    return status ? matches.and((summary) => summary.status === status) : matches;
  }
  if (status) return db.orderSummaries.where('status').equals(status).reverse();
  return db.orderSummaries.toCollection().reverse();
}

/**
 * A window of the orders list and how many match in all, as shown at `now`: each summary with the live
 * leases over it (`summaryView`; the lease records are a handful, one getAll in the same read), and when a
 * lease passes so the window must be derived again.
 */
export async function readOrderSummaries(
  db: OutpostDb,
  query: OrderSummaryQuery = {},
  now: number,
): Promise<OrderSummaryPage> {
  let window = matchingSummaries(db, query);
  if (query.offset) window = window.offset(query.offset);
  if (query.limit !== undefined) window = window.limit(query.limit);
  const [total, rows, leases] = await Promise.all([
    matchingSummaries(db, query).count(),
    window.toArray(),
    db.leases.toArray(),
  ]);
  const leased = leasedOrderIds(liveLeases(leases, now));
  return {
    rows: rows.map((summary) => summaryView(summary, leased)),
    total,
    changesAt: nextLeaseChange(leases, now),
  };
}
