import { BehaviorSubject, filter, type Observable } from 'rxjs';
import type { FaultSettings } from '../mocks/faults';
import { registerWorker, type WorkerHandle } from '../outbox/browser/register-worker';
import { watchStorage } from '../outbox/browser/storage-estimate';
import type { PersistencePort, StoragePersistence } from '../outbox/browser/storage-persistence';
import { detectSyncMode, type SyncMode } from '../outbox/browser/sync-mode';
import { getOrCreateClientId } from '../outbox/client/client-id';
import type { CommandOutcome, CommandRequest } from '../outbox/client/command-pipeline';
import { type OutpostDb, streamTypesOf } from '../outbox/client/db';
import type { CommandError } from '../outbox/client/errors';
import { EventBus } from '../outbox/client/event-bus';
import { type Clock, type IdGenerator, systemClock, uuidv7Generator } from '../outbox/ids';
import type { Result } from '../outbox/result';
import type { SignInFailure } from '../outbox/sync/auth-client';
import type { SignedIn } from '../outbox/sync/sign-in';
import {
  browserOnline$,
  liveSyncFacts,
  liveSyncStatus,
  type SyncFacts,
  type SyncStatus,
} from '../outbox/sync/status';
import { configuredSyncUrl, DEMO_BUILD, resolveSyncEndpoint } from './build-flags';
import type { PageSyncPorts } from './page-sync';
import type { RetentionControls } from './retention';
import { openAppDb } from './schema';

export type {
  BrowserEngine,
  PersistenceState,
  StoragePersistence,
} from '../outbox/browser/storage-persistence';

/** Everything the UI needs from the app, built once per page by `createOutpost`. */
export interface Outpost {
  readonly db: OutpostDb;
  readonly bus: EventBus;
  readonly clientId: string;
  readonly clock: Clock;
  /** Runs a command; once it committed, asks for a sync (Background Sync registration or the fallback). */
  execute(request: CommandRequest): Promise<Result<CommandOutcome, CommandError>>;
  syncNow(): Promise<void>;
  readonly status$: Observable<SyncStatus>;
  readonly syncMode: SyncMode;
  /** The sync API's absolute base URL, for the status area. */
  readonly endpoint: string;
  readonly storage$: Observable<{ usage: number; quota: number } | null>;
  /** Whether the browser promised to keep this device's data (null until known); asked at the first saved entry. */
  readonly persistence$: Observable<StoragePersistence | null>;
  /** Asks the browser to keep this device's data (the person's button); the answer comes on `persistence$`. */
  requestPersistence(): Promise<void>;
  /** True while a new service worker version waits for the person to accept it. */
  readonly update$: Observable<boolean>;
  applyUpdate(): void;
  retryDeadLetter(eventId: string): Promise<void>;
  discardDeadLetter(eventId: string, reason: string): Promise<void>;
  /** JSON: { exportedAt, clientId, events, outbox }: everything needed to recover unsent work by hand. */
  exportBackup(): Promise<Blob>;
  /** How long settled records stay on this device (off by default), and archiving what is due. */
  retention(): Promise<RetentionControls>;
  /**
   * Signs in on the sync server; the device then sends as that user (entries another user wrote wait for
   * them) and delivery resumes at once, in this page and in the worker. Never needed to take orders.
   */
  signIn(username: string, password: string): Promise<Result<SignedIn, SignInFailure>>;
  /** Ends the session; nothing on the device is deleted. Refused (nothing changes) when the server cannot say so. */
  signOut(): Promise<Result<void, SignInFailure>>;
  /** Demo builds only: the in-worker mock server's fault switches. */
  readonly demo: {
    readonly faults$: Observable<FaultSettings>;
    setFaults(partial: Partial<FaultSettings>): Promise<void>;
  } | null;
}

/** The network as the browser reports it: `navigator.onLine` and its `online` and `offline` events. */
export interface NetworkPort {
  isOnline(): boolean;
  /** The current state on subscribe, then each change. */
  readonly online$: Observable<boolean>;
}

/**
 * What the page is built from. Everything the app takes from the browser can be given here instead (tests
 * give fakes); left out, each is the browser's own.
 */
export interface CreateOutpostOptions {
  readonly db?: OutpostDb;
  readonly clock?: Clock;
  readonly ids?: IdGenerator;
  /** Forces a sync mode; by default detected (and `?sync=fallback` or the localStorage setting). */
  readonly syncMode?: SyncMode;
  /** An already registered worker (main.tsx registers it); registered here when absent. */
  readonly worker?: WorkerHandle;
  readonly endpoint?: string;
  readonly transport?: typeof fetch;
  /** The page's origin (`location.origin`): the sync endpoint, unless given, is resolved against it. */
  readonly origin?: string;
  /** `navigator.onLine` and its events: the status shows it, and nothing is sent while it says offline. */
  readonly network?: NetworkPort;
  /** `navigator.storage`: the usage against quota the status shows. */
  readonly storage?: StorageManager;
  /** What the browser promises about keeping the data, and how to ask it (`browserPersistence()`). */
  readonly persistence?: PersistencePort;
  /**
   * What page sync takes from the browser (Web Locks, the channel to the other contexts, its wake-ups and
   * timers, whether a worker controls the page). Page sync loads after the first render, and so do these
   * defaults: naming one here does not bring the sync engine into the page's initial JavaScript.
   */
  readonly pageSync?: Partial<PageSyncPorts>;
}

export async function createOutpost(options: CreateOutpostOptions = {}): Promise<Outpost> {
  const db = options.db ?? openAppDb();
  const clock = options.clock ?? systemClock;
  const ids = options.ids ?? uuidv7Generator(clock);
  const clientId = await getOrCreateClientId(db, ids);
  const bus = new EventBus();
  const endpoint =
    options.endpoint ?? resolveSyncEndpoint(options.origin ?? location.origin, configuredSyncUrl());
  const worker = options.worker ?? registerWorker({ dev: import.meta.env.DEV });
  const syncMode = options.syncMode ?? detectSyncMode();
  const storage = watchStorage(options.storage ?? navigator.storage);
  const network = options.network ?? { isOnline: () => navigator.onLine, online$: browserOnline$() };
  // Not in the first screen's JavaScript: it loads next to the first render, and asks at the first save.
  const persistence$ = new BehaviorSubject<StoragePersistence | null>(null);
  const persistence = loadOnce(() =>
    import('../outbox/browser/storage-persistence').then(({ watchPersistence }) =>
      watchPersistence(options.persistence, (value) => persistence$.next(value)),
    ),
  );
  void persistence().catch(() => undefined);

  // The first screen only reads: the plug-ins' code (schemas, deciders), the write side (pipeline,
  // projections) and the sync engine (HTTP client, wire schemas, claim and apply) are not in the page's
  // initial JavaScript. All start loading now, next to the first render, so the first command or flush
  // rarely waits for them.
  const handler = loadOnce(async () => {
    const [{ createCommandPipeline }] = await Promise.all([
      import('../outbox/client/command-pipeline'),
      streamTypesOf(db),
    ]);
    return createCommandPipeline({ db, clock, ids, clientId, bus });
  });
  void handler().catch(() => undefined);
  // One read of the stored sync facts, for the page's life, feeds the status and the schedule's timer, so
  // both always agree and a change is read once.
  const facts = new BehaviorSubject<SyncFacts | null>(null);
  const followFacts = () =>
    liveSyncFacts(db).subscribe({
      next: (value) => facts.next(value),
      // A failed read ends a live query (the database closed under an upgrade, say): keep the last facts and
      // start reading again, or the status and the schedule would stop following the outbox for good.
      error: (error: unknown) => {
        console.warn('[outpost] sync status read failed; reading again', error);
        setTimeout(followFacts, 1_000);
      },
    });
  followFacts();
  const facts$ = facts.pipe(filter((value): value is SyncFacts => value !== null));
  const sync = loadOnce(() =>
    Promise.all([import('./page-sync'), streamTypesOf(db)]).then(([{ startPageSync }, streamTypes]) =>
      startPageSync({
        db,
        streamTypes,
        clock,
        ids,
        clientId,
        bus,
        endpoint,
        transport,
        mode: syncMode,
        worker,
        isOnline: () => network.isOnline(),
        ports: options.pageSync ?? {},
        facts$,
        // Delivered rows free space and pulled events take some: the storage estimate follows each flush.
        onFlushed: () => void storage.refresh(),
      }),
    ),
  );
  // Started now, next to the first render: entries an earlier visit left go out without a new command.
  const requestSync = () =>
    void sync()
      .then((driver) => driver.requestSync())
      .catch((error: unknown) => console.warn('[outpost] sync unavailable', error));
  void sync().catch((error: unknown) => console.warn('[outpost] sync unavailable', error));

  const demo = DEMO_BUILD ? createDemoControls(worker) : null;
  const transport =
    options.transport ?? ((input: RequestInfo | URL, init?: RequestInit) => fetch(input, init));
  const session = loadOnce(() =>
    import('./session').then(({ createSession }) =>
      createSession({
        db,
        transport,
        endpoint,
        clientId,
        ids,
        now: () => clock.now(),
        locks: options.pageSync?.locks === undefined ? (navigator.locks ?? null) : options.pageSync.locks,
      }),
    ),
  );

  return {
    db,
    bus,
    clientId,
    clock,
    syncMode,
    endpoint,
    status$: liveSyncStatus(facts$, clock, network.online$),
    storage$: storage.storage$,
    persistence$,
    requestPersistence: () => persistence().then((watch) => watch.request()),
    update$: worker.update$,
    applyUpdate: () => worker.applyUpdate(),
    async execute(request) {
      const result = await (await handler()).execute(request);
      if (result.ok && !result.value.duplicate) {
        requestSync();
        void storage.refresh();
        void persistence()
          .then((watch) => watch.saved())
          .catch(() => undefined);
      }
      return result;
    },
    async syncNow() {
      await (await sync()).syncNow();
    },
    // A refusal (not dead any more, in flight, an empty reason) is thrown so the dialog shows it.
    async retryDeadLetter(eventId) {
      const [{ retryDeadLetter }] = await Promise.all([
        import('../outbox/sync/dead-letters'),
        streamTypesOf(db),
      ]);
      const retried = await retryDeadLetter(db, eventId);
      if (!retried.ok) throw retried.error;
      requestSync();
    },
    async discardDeadLetter(eventId, reason) {
      const [{ discardDeadLetter }] = await Promise.all([
        import('../outbox/sync/dead-letters'),
        streamTypesOf(db),
      ]);
      const discarded = await discardDeadLetter(db, { eventId, reason, clock, ids, bus });
      if (!discarded.ok) throw discarded.error;
    },
    // The export is not the first screen's: its code loads when the person asks for it.
    exportBackup: () => import('./backup').then((backup) => backup.exportBackup(db, clock, clientId)),
    retention: loadOnce(() =>
      import('./retention').then(({ createRetentionControls }) => createRetentionControls(db, clock)),
    ),
    async signIn(username, password) {
      const signedIn = await (await session()).signIn(username, password);
      // The sign-in pause ended in the same transaction: whoever runs the schedule sees it; this sends now,
      // past any backoff the entries ran up while they waited.
      if (signedIn.ok) {
        void sync()
          .then((driver) => driver.resume('sign-in'))
          .catch((error: unknown) => console.warn('[outpost] sync unavailable', error));
      }
      return signedIn;
    },
    async signOut() {
      return (await session()).signOut();
    },
    demo,
  };
}

/**
 * Runs `load` on first call and shares its promise; a rejected load (a chunk that failed to download) is
 * forgotten so the next call tries again instead of failing for the rest of the page's life.
 */
function loadOnce<T>(load: () => Promise<T>): () => Promise<T> {
  let pending: Promise<T> | null = null;
  return () => {
    pending ??= load().catch((error: unknown) => {
      pending = null;
      throw error;
    });
    return pending;
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
