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

export type CommittedRowsListener = (rows: CommittedOrderRows) => void;

/**
 * Per connection: only writes made through this Dexie instance in this context are announced. Plain
 * listeners, no rxjs: this module is shared by lazily loaded chunks, and rxjs code shared between them and the
 * first screen would be split into a chunk of its own, which the first screen then also loads
 * (docs/performance.md, figure 8).
 */
const listeners = new WeakMap<OutpostDb, Set<CommittedRowsListener>>();

/** Call only after the transaction that wrote `rows` resolved (committed, durable under strict). */
export function announceCommitted(db: OutpostDb, rows: CommittedOrderRows): void {
  for (const listener of listeners.get(db) ?? []) listener(rows);
}

/** Calls `listener` with every commit announced on `db`; returns the function that stops it. */
export function onCommitted(db: OutpostDb, listener: CommittedRowsListener): () => void {
  let set = listeners.get(db);
  if (!set) {
    set = new Set();
    listeners.set(db, set);
  }
  set.add(listener);
  return () => set.delete(listener);
}
