import { BehaviorSubject, filter, fromEvent, map, merge, type Observable, startWith } from 'rxjs';
import type { Result } from '../domain/result';
import type { FaultSettings } from '../mocks/faults';
import { type Clock, type IdGenerator, systemClock, uuidv7Generator } from '../platform/ids';
import { configuredSyncUrl, DEMO_BUILD, resolveSyncEndpoint } from '../pwa/build-flags';
import { type CoordinatedFlush, createCoordinatedFlush } from '../pwa/coordinated-flush';
import { registerPeriodicSync } from '../pwa/periodic-sync';
import { registerWorker, type WorkerHandle } from '../pwa/register-worker';
import { watchStorage } from '../pwa/storage-estimate';
import { parseFlushReport, parseSyncChannelMessage, SYNC_CHANNEL_NAME } from '../pwa/sync-channel';
import { browserSignals, createSyncDriver, holdScheduleLead } from '../pwa/sync-driver';
import { detectSyncMode, type SyncMode } from '../pwa/sync-mode';
import { BACKGROUND_SYNC_TAG } from '../pwa/worker-messages';
import { getOrCreateClientId } from '../store/client-id';
import type { CommandOutcome, CommandRequest } from '../store/command-handler';
import { type OutpostDb, openDb } from '../store/db';
import type { CommandError } from '../store/errors';
import { EventBus } from '../store/event-bus';
import type { FlushOptions } from '../sync/engine';
import { liveSyncFacts, liveSyncStatus, type SyncStatus, wakeFactsOf } from '../sync/status';

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
  readonly storage$: Observable<{ usage: number; quota: number; persisted: boolean } | null>;
  /** True while a new service worker version waits for the person to accept it. */
  readonly update$: Observable<boolean>;
  applyUpdate(): void;
  retryDeadLetter(eventId: string): Promise<void>;
  discardDeadLetter(eventId: string, reason: string): Promise<void>;
  /** JSON: { exportedAt, clientId, events, outbox }: everything needed to recover unsent work by hand. */
  exportBackup(): Promise<Blob>;
  /** Demo builds only: the in-worker mock server's fault switches. */
  readonly demo: {
    readonly faults$: Observable<FaultSettings>;
    setFaults(partial: Partial<FaultSettings>): Promise<void>;
  } | null;
}

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
}

export async function createOutpost(options: CreateOutpostOptions = {}): Promise<Outpost> {
  const db = options.db ?? openDb();
  const clock = options.clock ?? systemClock;
  const ids = options.ids ?? uuidv7Generator(clock);
  const clientId = await getOrCreateClientId(db, ids);
  const bus = new EventBus();
  const endpoint = options.endpoint ?? resolveSyncEndpoint(location.origin, configuredSyncUrl());
  const worker = options.worker ?? registerWorker({ dev: import.meta.env.DEV });
  const syncMode = options.syncMode ?? detectSyncMode();
  const storage = watchStorage();

  // The first screen only reads: the write side (command handler, domain, projections) and the sync engine
  // (HTTP client, wire schemas, claim and apply) are not in the page's initial JavaScript. Both start loading
  // now, next to the first render, so the first command or flush rarely waits for them.
  const handler = loadOnce(() =>
    import('../store/command-handler').then(({ createCommandHandler }) =>
      createCommandHandler({ db, clock, ids, clientId, bus }),
    ),
  );
  void handler().catch(() => undefined);
  const loadEngine = loadOnce(() =>
    import('../sync/engine').then(({ createSyncEngine }) =>
      createSyncEngine({
        db,
        transport: options.transport ?? ((input, init) => fetch(input, init)),
        clock,
        ids,
        clientId,
        baseUrl: endpoint,
        bus,
        ownerId: `page-${ids()}`,
        online: () => navigator.onLine,
      }),
    ),
  );
  const engine = {
    flush: async (flushOptions?: FlushOptions) => (await loadEngine()).flush(flushOptions),
    pull: async () => (await loadEngine()).pull(),
  };
  const channel = typeof BroadcastChannel === 'function' ? new BroadcastChannel(SYNC_CHANNEL_NAME) : null;
  const coordinated = createCoordinatedFlush({
    engine,
    bus,
    channel,
    source: 'page',
    locks: navigator.locks,
  });
  // Delivered rows free space and pulled events take some: the status area's estimate follows each flush.
  const flush: CoordinatedFlush = (request) => coordinated(request).finally(() => void storage.refresh());

  // What another context (the worker, another tab) applied reaches this page's subscribers too. The rows
  // themselves arrive through Dexie's liveQuery; this carries the events for notifications.
  channel?.addEventListener('message', (event) => {
    const message = parseSyncChannelMessage(event.data);
    if (message && message.serverEvents.length > 0) bus.publish(message.serverEvents);
    if (message) void storage.refresh();
  });

  const onError = (error: unknown) => console.warn('[outpost] sync trigger failed', error);
  // One read of the stored sync facts feeds the status and the schedule's timer, so both always agree.
  const facts$ = liveSyncFacts(db);
  const driver = createSyncDriver({
    mode: syncMode,
    flush,
    async registerBackgroundSync() {
      const registration = await worker.registration;
      const sync = (registration as ServiceWorkerRegistration & { sync?: SyncManagerLike }).sync;
      if (!sync) throw new Error('Background Sync is not available on this registration');
      await sync.register(BACKGROUND_SYNC_TAG);
    },
    askWorker: async () => {
      // Not controlled yet (first visit) or no worker at all: the page flushes itself instead.
      if (!navigator.serviceWorker?.controller) throw new Error('No service worker controls this page');
      const report = parseFlushReport(await worker.request({ type: 'sync-now' }));
      if (!report) throw new Error('The service worker answered sync-now without a flush report');
      return report;
    },
    wakeFacts$: facts$.pipe(map(wakeFactsOf)),
    leadership: holdScheduleLead(navigator.locks),
    now: () => clock.now(),
    signals: browserSignals,
    onError,
  });
  // Entries left by an earlier visit (or a closed tab) go out without waiting for the next command.
  driver.start();
  if (syncMode === 'background-sync') void registerPeriodicSync(worker.registration);

  const online$ = merge(
    fromEvent(window, 'online').pipe(map(() => true)),
    fromEvent(window, 'offline').pipe(map(() => false)),
  ).pipe(startWith(navigator.onLine));

  const demo = DEMO_BUILD ? createDemoControls(worker) : null;

  return {
    db,
    bus,
    clientId,
    clock,
    syncMode,
    endpoint,
    status$: liveSyncStatus(facts$, clock, online$),
    storage$: storage.storage$,
    update$: worker.update$,
    applyUpdate: () => worker.applyUpdate(),
    async execute(request) {
      const result = await (await handler()).execute(request);
      if (result.ok && !result.value.duplicate) {
        driver.requestSync();
        void storage.refresh();
      }
      return result;
    },
    async syncNow() {
      await driver.syncNow();
    },
    // A refusal (not dead any more, in flight, an empty reason) is thrown so the dialog shows it.
    async retryDeadLetter(eventId) {
      const { retryDeadLetter } = await import('../sync/dead-letters');
      const retried = await retryDeadLetter(db, eventId);
      if (!retried.ok) throw retried.error;
      driver.requestSync();
    },
    async discardDeadLetter(eventId, reason) {
      const { discardDeadLetter } = await import('../sync/dead-letters');
      const discarded = await discardDeadLetter(db, { eventId, reason, clock, ids, bus });
      if (!discarded.ok) throw discarded.error;
    },
    async exportBackup() {
      const [events, outbox] = await db.transaction('r', db.events, db.outbox, () =>
        Promise.all([db.events.orderBy('position').toArray(), db.outbox.orderBy('position').toArray()]),
      );
      const backup = { exportedAt: new Date(clock.now()).toISOString(), clientId, events, outbox };
      return new Blob([JSON.stringify(backup, null, 2)], { type: 'application/json' });
    },
    demo,
  };
}

interface SyncManagerLike {
  register(tag: string): Promise<void>;
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
