import { BehaviorSubject, type Observable } from 'rxjs';

export interface StorageInfo {
  readonly usage: number;
  readonly quota: number;
  readonly persisted: boolean;
}

/**
 * Asks the browser to keep this origin's data under storage pressure (so an undelivered outbox is not
 * evicted) and reports usage against quota. Emits null where the Storage API is missing; refreshes on
 * `refresh()` (the app calls it after commands and flushes).
 */
export function watchStorage(storage: StorageManager | undefined = navigator.storage): {
  readonly storage$: Observable<StorageInfo | null>;
  refresh(): Promise<void>;
} {
  const subject = new BehaviorSubject<StorageInfo | null>(null);
  let persisted = false;
  const refresh = async () => {
    if (!storage?.estimate) return;
    try {
      const estimate = await storage.estimate();
      persisted = storage.persisted ? await storage.persisted() : persisted;
      subject.next({ usage: estimate.usage ?? 0, quota: estimate.quota ?? 0, persisted });
    } catch {
      // An estimate is advice for the status area; failing to get one changes nothing else.
    }
  };
  void (async () => {
    try {
      if (storage?.persist) persisted = await storage.persist();
    } catch {
      persisted = false;
    }
    await refresh();
  })();
  return { storage$: subject.asObservable(), refresh };
}
