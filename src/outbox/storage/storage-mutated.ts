import { maxKey, minKey } from './outbox-database';

/**
 * Dexie's cross-context change notice, posted by the plain IndexedDB implementation so the pages' Dexie
 * `liveQuery`s re-run after the worker writes. Dexie listens on this channel in every context it runs in
 * and treats each message as the `mutatedParts` of a transaction made elsewhere (`propagateLocally` in
 * dexie.mjs): keys `idb://<db>/<table>/<index>` (`''` is the primary key, `':dels'` deletions), values
 * structured-cloned RangeSets. A whole-range part invalidates every query on that part, as Dexie's own
 * `new RangeSet(-Infinity, [[]])` does.
 */
export const STORAGE_MUTATED_CHANNEL = 'x-storagemutated-1';

/** What `new RangeSet(from, to)` is after structured cloning: its own enumerable fields only. */
export interface ClonedRangeSet {
  readonly d: 1;
  readonly from: IDBValidKey;
  readonly to: IDBValidKey;
}

/** Table name → its index names (as IndexedDB lists them), for each table a transaction wrote. */
export type TouchedTables = ReadonlyMap<string, readonly string[]>;

export function storageMutatedMessage(
  dbName: string,
  touched: TouchedTables,
): Record<string, ClonedRangeSet> {
  const parts: Record<string, ClonedRangeSet> = {};
  for (const [table, indexes] of touched) {
    for (const part of ['', ':dels', ...indexes]) {
      parts[`idb://${dbName}/${table}/${part}`] = { d: 1, from: minKey, to: maxKey };
    }
  }
  return parts;
}

export type ChangeNotifier = (dbName: string, touched: TouchedTables) => void;

/** Posts on Dexie's channel where BroadcastChannel exists (pages, workers, Node); a no-op elsewhere. */
export function broadcastStorageMutated(): ChangeNotifier {
  if (typeof BroadcastChannel !== 'function') return () => undefined;
  let channel: BroadcastChannel | null = null;
  return (dbName, touched) => {
    if (touched.size === 0) return;
    if (!channel) {
      channel = new BroadcastChannel(STORAGE_MUTATED_CHANNEL);
      // Node keeps the process alive for an open channel; Dexie unrefs its own the same way.
      (channel as BroadcastChannel & { unref?: () => void }).unref?.();
    }
    try {
      channel.postMessage(storageMutatedMessage(dbName, touched));
    } catch {
      // A closed channel (the context shutting down) must not turn a committed transaction into a failure.
    }
  };
}
