import { BehaviorSubject, type Observable } from 'rxjs';

/** Usage against quota, in bytes, and whether the browser agreed to keep the origin's data. */
export interface StorageInfo {
  readonly usage: number;
  readonly quota: number;
}

/**
 * Ask for a new estimate at most this often. The app asks after every command and flush; a burst of commands
 * asked the browser for one each, about 3 % of a command's main-thread time in the app-path benchmark
 * (docs/performance.md), for a figure nobody reads to the byte.
 */
export const ESTIMATE_EVERY_MS = 1_000;

/**
 * Reports usage against quota (whether the browser keeps the data, and asking it to, is
 * `storage-persistence.ts`'s, at a moment a person understands). Emits null where the Storage API is missing; refreshes on `refresh()` (the app calls it after commands and flushes): calls
 * within `ESTIMATE_EVERY_MS` of the last estimate share one that runs when that time is up, so the last call
 * is always followed by an estimate.
 */
export function watchStorage(
  storage: StorageManager | undefined = navigator.storage,
  everyMs: number = ESTIMATE_EVERY_MS,
): {
  readonly storage$: Observable<StorageInfo | null>;
  refresh(): Promise<void>;
} {
  const subject = new BehaviorSubject<StorageInfo | null>(null);
  let lastAt = Number.NEGATIVE_INFINITY;
  let trailing: Promise<void> | null = null;
  const refresh = (): Promise<void> => {
    if (trailing) return trailing;
    const wait = lastAt + everyMs - Date.now();
    if (wait <= 0) return estimateNow();
    trailing = new Promise<void>((resolve) => setTimeout(resolve, wait)).then(() => {
      trailing = null;
      return estimateNow();
    });
    return trailing;
  };
  const estimateNow = async () => {
    lastAt = Date.now();
    if (!storage?.estimate) return;
    try {
      const estimate = await storage.estimate();
      subject.next({ usage: estimate.usage ?? 0, quota: estimate.quota ?? 0 });
    } catch {
      // An estimate is advice for the status area; failing to get one changes nothing else.
    }
  };
  void estimateNow();
  return { storage$: subject.asObservable(), refresh };
}
