import Dexie, { liveQuery } from 'dexie';
import { from, type Observable } from 'rxjs';
import type { OrderStatus } from '../domain/order/order';
import { streamIdOf } from '../protocol/messages';
import type { OrderDetail, OrderSummary, OutboxRow, OutboxStatus, OutpostDb } from './db';

/**
 * Live views of the read models for the UI: each re-emits whenever a committed transaction touches what it
 * read (Dexie liveQuery), in this tab or another.
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
  readonly rows: readonly OrderSummary[];
  /** How many orders match in all, so a virtual list can size itself without loading them. */
  readonly total: number;
}

/**
 * Without a search, most recently changed first (the `updatedAt` index); with one, by customer name (the
 * `customerKey` index), so neither reads more than the matching rows.
 */
export async function readOrderSummaries(
  db: OutpostDb,
  query: OrderSummaryQuery = {},
): Promise<OrderSummaryPage> {
  const key = query.search?.trim().toLowerCase() ?? '';
  const base = key
    ? db.orderSummaries.where('customerKey').startsWith(key)
    : db.orderSummaries.orderBy('updatedAt').reverse();
  const { status } = query;
  const matching = status ? base.filter((summary) => summary.status === status) : base;
  const total = await matching.clone().count();
  let window = matching.clone();
  if (query.offset) window = window.offset(query.offset);
  if (query.limit !== undefined) window = window.limit(query.limit);
  return { rows: await window.toArray(), total };
}

export function liveOrderSummaries(
  db: OutpostDb,
  query: OrderSummaryQuery = {},
): Observable<OrderSummaryPage> {
  return from(liveQuery(() => readOrderSummaries(db, query)));
}

export interface OrderDetailView {
  readonly summary: OrderSummary;
  readonly detail: OrderDetail;
  /** The order's outbox rows, so each timeline entry can show its delivery state (join by eventId). */
  readonly outbox: readonly OutboxRow[];
}

/** One order with its lines, timeline and outbox rows; null while it does not exist. */
export function liveOrderDetail(db: OutpostDb, orderId: string): Observable<OrderDetailView | null> {
  return from(
    liveQuery(async (): Promise<OrderDetailView | null> => {
      const [summary, detail, outbox] = await Promise.all([
        db.orderSummaries.get(orderId),
        db.orderDetails.get(orderId),
        db.outbox.where('streamId').equals(streamIdOf(orderId)).sortBy('version'),
      ]);
      return summary && detail ? { summary, detail, outbox } : null;
    }),
  );
}

const UNDELIVERED: readonly OutboxStatus[] = ['pending', 'inflight', 'dead'];

/** Outbox rows not yet delivered (pending, in flight, dead), in sending order. */
export function liveOutbox(db: OutpostDb): Observable<readonly OutboxRow[]> {
  return from(
    liveQuery(async () => {
      const byStatus = await Promise.all(
        UNDELIVERED.map((status) =>
          db.outbox
            .where('[status+position]')
            .between([status, Dexie.minKey], [status, Dexie.maxKey])
            .toArray(),
        ),
      );
      return byStatus.flat().sort((a, b) => a.position - b.position);
    }),
  );
}
