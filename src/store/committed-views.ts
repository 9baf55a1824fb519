import { filter, type Observable, Subject } from 'rxjs';
import type { OrderDetail, OrderSummary, OutboxRow, OutpostDb } from './db';

/**
 * An order's read-model rows exactly as a command's transaction wrote them, announced once that transaction
 * committed. The open order's view shows them at once instead of waiting for Dexie's change notice and its
 * own read transaction (about as long again as the command: docs/performance.md, figure 7). Nothing here is
 * a guess: the rows are on disk when they are announced, and the live query's next read shows the same.
 */
export interface CommittedOrderRows {
  readonly summary: OrderSummary;
  readonly detail: OrderDetail;
  /** Every outbox row of the order after the commit (delivered rows are deleted, so: undelivered ones). */
  readonly outbox: readonly OutboxRow[];
  readonly discardedFromVersion: number | undefined;
}

/** Per connection: only writes made through this Dexie instance in this context are announced. */
const channels = new WeakMap<OutpostDb, Subject<CommittedOrderRows>>();

function channelOf(db: OutpostDb): Subject<CommittedOrderRows> {
  let channel = channels.get(db);
  if (!channel) {
    channel = new Subject<CommittedOrderRows>();
    channels.set(db, channel);
  }
  return channel;
}

/** Call only after the transaction that wrote `rows` resolved (committed, durable under strict). */
export function announceCommitted(db: OutpostDb, rows: CommittedOrderRows): void {
  channels.get(db)?.next(rows);
}

export function committedOrderRows(db: OutpostDb, orderId: string): Observable<CommittedOrderRows> {
  return channelOf(db).pipe(filter((rows) => rows.summary.orderId === orderId));
}
