import { BehaviorSubject, filter, type Observable } from 'rxjs';
import type { FaultSettings } from '../outbox/mock';
import {
  type OpenOutboxOptions,
  type Outbox,
  type OutpostDb,
  openOutbox,
  registerWorker,
  type WorkerHandle,
} from '../outbox/page';
import { configuredSyncUrl, DEMO_BUILD, READS_FEED, resolveSyncEndpoint } from './build-flags';
import { openAppDb } from './schema';

export type { BrowserEngine, PersistenceState, StoragePersistence } from '../outbox/page';

/** Everything the UI needs from the app, built once per page by `createOutpost`: the outbox, and the app's. */
export interface Outpost extends Outbox {
  /** True while a new service worker version waits for the person to accept it. */
  readonly update$: Observable<boolean>;
  applyUpdate(): void;
  /** Demo builds only: the in-worker mock server's fault switches. */
  readonly demo: {
    readonly faults$: Observable<FaultSettings>;
    setFaults(partial: Partial<FaultSettings>): Promise<void>;
  } | null;
}

/**
 * What the page is built from: the outbox's options (`openOutbox`), each defaulting to the app's own (its
 * database layout, its endpoint, its worker) or the browser's.
 */
export interface CreateOutpostOptions extends Omit<Partial<OpenOutboxOptions>, 'database' | 'worker'> {
  readonly db?: OutpostDb;
  /** An already registered worker (main.tsx registers it); registered here when absent. */
  readonly worker?: WorkerHandle;
  /** The page's origin (`location.origin`): the sync endpoint, unless given, is resolved against it. */
  readonly origin?: string;
}

export async function createOutpost(options: CreateOutpostOptions = {}): Promise<Outpost> {
  const { db, origin, worker: given, endpoint, ...rest } = options;
  const worker = given ?? registerWorker({ dev: import.meta.env.DEV });
  const outbox = await openOutbox({
    feed: READS_FEED,
    ...rest,
    database: db ?? openAppDb(),
    endpoint: endpoint ?? resolveSyncEndpoint(origin ?? location.origin, configuredSyncUrl()),
    worker,
  });
  return {
    ...outbox,
    update$: worker.update$,
    applyUpdate: () => worker.applyUpdate(),
    demo: DEMO_BUILD ? createDemoControls(worker) : null,
  };
}

function createDemoControls(worker: WorkerHandle): NonNullable<Outpost['demo']> {
  const faults$ = new BehaviorSubject<FaultSettings | null>(null);
  const load = async (settings?: Partial<FaultSettings>) => {
    const value = await worker.request(
      settings ? { type: 'demo:faults', settings } : { type: 'demo:faults' },
    );
    faults$.next(value as FaultSettings);
  };
  void load().catch((error: unknown) => console.warn('[outpost] demo faults unavailable', error));
  return {
    // Nothing to show until the worker answered once.
    faults$: faults$.pipe(filter((settings): settings is FaultSettings => settings !== null)),
    setFaults: (partial) => load(partial),
  };
}
