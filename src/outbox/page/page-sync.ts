import { map, type Observable } from 'rxjs';
import type { EventBus } from '../device/event-bus';
import { type CoordinatedFlush, createCoordinatedFlush } from '../device/sync/coordinated-flush';
import { createSyncEngine } from '../device/sync/engine';
import { parseFlushReport, parseSyncChannelMessage, SYNC_CHANNEL_NAME } from '../device/sync/sync-channel';
import { syncStorage } from '../device/sync/sync-storage';
import { BACKGROUND_SYNC_TAG } from '../device/worker-messages';
import type { Clock, IdGenerator } from '../ids';
import type { StreamTypes } from '../stream-types';
import type { OutpostDb } from './database';
import { type FeedLive, openFeedLive } from './feed-live';
import type { WorkerHandle } from './register-worker';
import { type SyncFacts, wakeFactsOf } from './status';
import {
  browserSignals,
  createSyncDriver,
  holdScheduleLead,
  type PageSignals,
  type SyncDriver,
} from './sync-driver';
import type { SyncMode } from './sync-mode';

/**
 * The page's side of sync, loaded right after the first render (`createOutpost`): the engine, the flush
 * every context runs under the cross-context lock, the BroadcastChannel to the other contexts, and the
 * driver that decides when to flush. None of it is needed to show the first screen.
 */
export interface PageSyncDeps {
  readonly db: OutpostDb;
  /** Loaded by the caller (`streamTypesOf`): the engine checks and projects server events with them. */
  readonly streamTypes: StreamTypes;
  readonly clock: Clock;
  readonly ids: IdGenerator;
  readonly clientId: string;
  readonly bus: EventBus;
  readonly endpoint: string;
  readonly transport: typeof fetch;
  readonly mode: SyncMode;
  /** The registered service worker; null where the page has none (it then sends everything itself). */
  readonly worker: WorkerHandle | null;
  /** Whether the device is online: the engine sends nothing, and the schedule arms no timer, while it is not. */
  readonly isOnline: () => boolean;
  /** What to take from somewhere other than the browser; each port left out is the browser's own. */
  readonly ports: Partial<PageSyncPorts>;
  /** The stored sync facts the status bar also reads: the schedule's timer follows the same query. */
  readonly facts$: Observable<SyncFacts>;
  /** Called after every flush, whoever ran it (the storage estimate follows what was sent and pulled). */
  readonly onFlushed: () => void;
  /**
   * Read the feed extension (every device's events, and a live channel that says when to read it); a
   * server without it is read as protocol v1. Off by default.
   */
  readonly feed?: boolean;
  /** The browser's user agent: this device's name until a person gives it one. */
  readonly userAgent?: string;
}

/** The sync channel as page sync uses it: a `BroadcastChannel` in a browser. */
export interface SyncChannel {
  /** Tells every other context of the origin. */
  postMessage(message: unknown): void;
  /** Hears what every other context of the origin tells. */
  addEventListener(type: 'message', listener: (event: MessageEvent) => void): void;
}

/** What page sync takes from the browser, so a test can build the real page with fakes of each. */
export interface PageSyncPorts {
  /**
   * Web Locks: one flush at a time across the origin's contexts, one page leading the schedule. Null where
   * there are none: the outbox leases alone keep flushers apart, and every page runs the schedule.
   */
  readonly locks: LockManager | null;
  /** The channel the contexts tell each other about their flushes on; null where there is none. */
  readonly openChannel: () => SyncChannel | null;
  /** The network coming back, the page becoming visible, and the schedule's timers. */
  readonly signals: Omit<PageSignals, 'isOnline'>;
  /** Whether a service worker controls this page: "Sync now" asks the worker only then. */
  readonly controlled: () => boolean;
}

/** Each port given, or else the browser's own. */
const withBrowserPorts = (given: Partial<PageSyncPorts>): PageSyncPorts => ({
  locks: given.locks === undefined ? (navigator.locks ?? null) : given.locks,
  openChannel:
    given.openChannel ??
    (() => (typeof BroadcastChannel === 'function' ? new BroadcastChannel(SYNC_CHANNEL_NAME) : null)),
  signals: given.signals ?? browserSignals,
  controlled: given.controlled ?? (() => Boolean(navigator.serviceWorker?.controller)),
});

interface SyncManagerLike {
  register(tag: string): Promise<void>;
}

export function startPageSync(deps: PageSyncDeps): SyncDriver {
  const { db, clock, ids, bus, worker } = deps;
  const ports = withBrowserPorts(deps.ports);
  const locks = ports.locks ?? undefined;
  const engine = createSyncEngine({
    storage: syncStorage(db),
    streamTypes: deps.streamTypes,
    transport: deps.transport,
    clock,
    ids,
    clientId: deps.clientId,
    baseUrl: deps.endpoint,
    bus,
    ownerId: `page-${ids()}`,
    online: deps.isOnline,
    feed: deps.feed === true,
    ...(deps.userAgent === undefined ? {} : { userAgent: deps.userAgent }),
  });
  const channel = ports.openChannel();
  const coordinated = createCoordinatedFlush({ engine, bus, channel, source: 'page', locks });
  const flush: CoordinatedFlush = (request) => coordinated(request).finally(deps.onFlushed);

  // What another context (the worker, another tab) applied reaches this page's subscribers too. The rows
  // themselves arrive through Dexie's liveQuery; this carries the events for notifications.
  channel?.addEventListener('message', (event) => {
    const message = parseSyncChannelMessage(event.data);
    if (message && message.serverEvents.length > 0) bus.publish(message.serverEvents);
    if (message) deps.onFlushed();
  });

  const driver = createSyncDriver({
    mode: deps.mode,
    flush,
    async registerBackgroundSync() {
      if (!worker) throw new Error('This page registered no service worker');
      const registration = await worker.registration;
      const sync = (registration as ServiceWorkerRegistration & { sync?: SyncManagerLike }).sync;
      if (!sync) throw new Error('Background Sync is not available on this registration');
      await sync.register(BACKGROUND_SYNC_TAG);
    },
    askWorker: async () => {
      // Not controlled yet (first visit) or no worker at all: the page flushes itself instead.
      if (!worker || !ports.controlled()) throw new Error('No service worker controls this page');
      const report = parseFlushReport(await worker.request({ type: 'sync-now' }));
      if (!report) throw new Error('The service worker answered sync-now without a flush report');
      return report;
    },
    wakeFacts$: deps.facts$.pipe(map(wakeFactsOf)),
    leadership: holdScheduleLead(locks),
    now: () => clock.now(),
    // One answer to "online?" for the engine and the schedule: the network port's.
    signals: { ...ports.signals, isOnline: deps.isOnline },
    onError: (error) => console.warn('[outpost] sync trigger failed', error),
  });
  // Entries left by an earlier visit (or a closed tab) go out without waiting for the next command.
  driver.start();
  const stopLive = deps.feed === true ? listenToFeed(deps, ports, flush) : () => undefined;
  if (deps.mode === 'background-sync' && worker) {
    void import('./periodic-sync').then(({ registerPeriodicSync }) =>
      registerPeriodicSync(worker.registration),
    );
  }
  return {
    ...driver,
    stop() {
      stopLive();
      driver.stop();
    },
  };
}

/**
 * The live channel, in one page of the browser at a time (a Web Lock, like the schedule's): each poke reads
 * the feed through the page's flush, under the flush lock, so the worker and the page never read one page
 * twice. The network coming back reconnects it at once.
 */
function listenToFeed(deps: PageSyncDeps, ports: PageSyncPorts, flush: CoordinatedFlush): () => void {
  const url = `${deps.endpoint.replace(/\/+$/, '')}/feed/live?clientId=${encodeURIComponent(deps.clientId)}`;
  return holdScheduleLead(
    ports.locks ?? undefined,
    'outpost-feed-live',
  )(() => {
    const live: FeedLive = openFeedLive({
      url,
      transport: deps.transport,
      onPoke: () =>
        void flush({ pull: true, reasons: ['feed'] }).catch((error: unknown) =>
          console.warn('[outpost] reading the feed failed', error),
        ),
      isOnline: deps.isOnline,
      setTimer: ports.signals.setTimer,
      clearTimer: ports.signals.clearTimer,
    });
    const unsubscribe = ports.signals.onWake((reason) => {
      if (reason === 'online') live.reconnect();
    });
    return () => {
      unsubscribe();
      live.stop();
    };
  });
}
