import Dexie from 'dexie';
import { sameData } from './same-data';

/**
 * A read kept up to date with the database, for views a burst of writes would otherwise keep busy: it reads
 * again after committed writes to the database, in this context or another (Dexie's `storagemutated`, which
 * the worker's plain IndexedDB writes also fire), once the writes pause for a frame (`settleMs`) and at the
 * latest `maxWaitMs` after the first write it has not read, and never abandons a read in flight. Dexie's
 * `liveQuery` re-runs a read at once on every commit and restarts one that a commit overtakes, so a person
 * adding lines one after another paid the list's and the status's reads after each of them, each read
 * holding up the next command's write (docs/performance.md, app path). Here one command is on screen a frame
 * after it committed; a burst faster than a person types is shown every 100 ms, and its last write always.
 */

/** One frame at 60 Hz: a person sees no change sooner. */
export const LIVE_READ_SETTLE_MS = 16;
/** Well under the 100 ms a person takes for instant: how far a view may trail a burst. */
export const LIVE_READ_MAX_WAIT_MS = 100;

/** Receives each new answer of a live read, and its failures. */
export interface LiveReadObserver<T> {
  /** A new answer, different from the last one passed on. */
  next(value: T): void;
  /** A read failed; the last value stands, and the next write reads again. */
  error(error: unknown): void;
}

/** Which writes make a live read read again, and how long it lets a burst of them settle. */
export interface LiveReadOptions {
  /** Only writes to these tables make it read again; every table of the database when absent. */
  readonly tables?: readonly string[];
  /** How long writes must pause before it reads (default one frame). */
  readonly settleMs?: number;
  /** How long after the first unread write it reads, however many follow (default 100 ms). */
  readonly maxWaitMs?: number;
}

/** Starts reading; the returned function stops it (a read in flight is then dropped when it answers). */
export function liveRead<T>(
  db: Dexie,
  read: () => Promise<T>,
  observer: LiveReadObserver<T>,
  options: LiveReadOptions = {},
): () => void {
  const settleMs = options.settleMs ?? LIVE_READ_SETTLE_MS;
  const maxWaitMs = Math.max(settleMs, options.maxWaitMs ?? LIVE_READ_MAX_WAIT_MS);
  const prefixes = (options.tables ?? ['']).map((table) => `idb://${db.name}/${table}${table ? '/' : ''}`);
  let last: { readonly value: T } | null = null;
  let stopped = false;
  let reading = false;
  let dirty = false;
  let timer: ReturnType<typeof setTimeout> | null = null;
  /** When the first write this view has not read yet was announced; null when it has read them all. */
  let firstUnreadAt: number | null = null;

  const start = () => {
    timer = null;
    if (stopped) return;
    reading = true;
    dirty = false;
    firstUnreadAt = null;
    read().then(
      (value) => {
        reading = false;
        if (stopped) return;
        // The same data as the last answer (a write that changed nothing this read shows) is not passed on.
        if (last === null || !sameData(last.value, value)) {
          last = { value };
          observer.next(value);
        }
        if (dirty) schedule();
      },
      (error: unknown) => {
        reading = false;
        if (stopped) return;
        // The database closed under an upgrade, say: keep listening, the next write reads again.
        observer.error(error);
        if (dirty) schedule();
      },
    );
  };

  const schedule = () => {
    if (stopped || reading) return;
    if (timer !== null) clearTimeout(timer);
    const now = performance.now();
    const due = Math.min(now + settleMs, (firstUnreadAt ?? now) + maxWaitMs);
    timer = setTimeout(start, Math.max(0, due - now));
  };

  const onMutated = (parts: Readonly<Record<string, unknown>>) => {
    if (!Object.keys(parts).some((key) => prefixes.some((prefix) => key.startsWith(prefix)))) return;
    dirty = true;
    firstUnreadAt ??= performance.now();
    schedule();
  };
  const unsubscribe = () => Dexie.on('storagemutated').unsubscribe(onMutated);
  Dexie.on('storagemutated', onMutated);
  start();
  return () => {
    stopped = true;
    if (timer !== null) clearTimeout(timer);
    unsubscribe();
  };
}
