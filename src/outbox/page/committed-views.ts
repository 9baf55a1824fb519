import type { DeliveryRow, OutboxRow, StoredClientEvent, StreamRow } from '../storage/rows';
import type { ReadModelRows } from '../stream-type';
import type { OutpostDb } from './database';

/**
 * A stream's rows exactly as a command's transaction wrote them, announced once that transaction committed.
 * The open view of the stream shows them at once instead of waiting for Dexie's change notice and its own
 * read transaction (about as long again as the command: docs/performance.md, figure 7). Nothing here is a
 * guess: the rows are on disk when they are announced, and the live query's next read shows the same.
 */
export interface CommittedStream {
  readonly streamId: string;
  readonly stream: StreamRow;
  /** The stream type's read-model rows the commit wrote, by table (null: removed). */
  readonly rows: ReadModelRows;
  readonly delivery: DeliveryRow;
  /** Every outbox row of the stream after the commit (delivered rows are deleted, so: undelivered ones). */
  readonly outbox: readonly OutboxRow[];
  /** The events the commit appended to the stream. */
  readonly events: readonly StoredClientEvent[];
}

export type CommittedListener = (stream: CommittedStream) => void;

/**
 * Per connection: only writes made through this Dexie instance in this context are announced. Plain
 * listeners, no rxjs: this module is shared by lazily loaded chunks, and rxjs code shared between them and the
 * first screen would be split into a chunk of its own, which the first screen then also loads
 * (docs/performance.md, figure 8).
 */
const listeners = new WeakMap<OutpostDb, Set<CommittedListener>>();

/** Call only after the transaction that wrote the rows resolved (committed, durable under strict). */
export function announceCommitted(db: OutpostDb, stream: CommittedStream): void {
  for (const listener of listeners.get(db) ?? []) listener(stream);
}

/** Calls `listener` with every commit announced on `db`; returns the function that stops it. */
export function onCommitted(db: OutpostDb, listener: CommittedListener): () => void {
  let set = listeners.get(db);
  if (!set) {
    set = new Set();
    listeners.set(db, set);
  }
  set.add(listener);
  return () => set.delete(listener);
}
