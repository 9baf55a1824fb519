import type { CommittedStream } from '../device/commands/committed-stream';
import type { OutpostDb } from './database';

export type { CommittedStream } from '../device/commands/committed-stream';

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
