import { createEventRelay } from '../device/event-relay';
import { getOrCreateClientId } from '../device/sync/client-id';
import { type CoordinatedFlush, createCoordinatedFlush } from '../device/sync/coordinated-flush';
import { createSyncEngine, type FlushReport } from '../device/sync/engine';
import type { FlushRequest } from '../device/sync/flush-lock';
import { flushUntilSettled } from '../device/sync/schedule';
import { syncStorage } from '../device/sync/sync-storage';
import { systemClock, uuidv7Generator } from '../ids';
import { SYNC_DB_NAME } from '../storage/outbox-database';
import { DatabaseUnavailableError, openPlainDatabase } from '../storage/plain-database';
import type { StreamTypes } from '../stream-types';
import type { WorkerBackend } from './backend';

/**
 * The worker's side of the outbox: the same sync engine the page uses, over the same database, behind the
 * same lock. The database is opened on first use so a worker woken only to serve a fetch stays cheap, and
 * through plain IndexedDB (`src/outbox/storage/plain-database.ts`), not Dexie, which would be most of the worker's size.
 */
export interface WorkerSync {
  /** Flushes now under the cross-context lock; resolves the report. */
  flush(request?: FlushRequest): Promise<FlushReport>;
  /**
   * For a `sync` event: flushes on the engine's own schedule (backoff, Retry-After, lease expiry, the network
   * returning) until nothing waits on time, and rejects (so the browser retries later) only once the budget
   * is spent with entries still waiting.
   */
  flushForBackgroundSync(): Promise<FlushReport>;
  /** For a `periodicsync` event: the same loop, but it never rejects (a periodic sync is not retried). */
  flushForPeriodicSync(): Promise<FlushReport>;
  /** For triggers nobody waits on: logs instead of rejecting. */
  flushQuietly(reason: string): Promise<FlushReport | null>;
}

/** What the worker's sync is made of: the app's stream types, the layout version it may write, its endpoint. */
export interface WorkerSyncOptions {
  /** The app's stream types: server events the worker applies are projected by their own read models. */
  readonly streamTypes: StreamTypes;
  /** The database layout this build writes; a database of any other is left to a page of that version. */
  readonly schemaVersion: number;
  readonly endpoint: string;
  readonly backend: Promise<WorkerBackend | null>;
  readonly channelName: string;
  /**
   * How long one `sync` event keeps flushing before it gives up and fails. Chromium allows an event three
   * minutes (`background_sync_parameters.cc`); two and a half leaves room for the last request (15 s
   * deadline) and its apply, so the browser never kills the worker mid-flush.
   */
  readonly eventBudgetMs?: number;
  /** True while a newer version of the worker is installed and waiting (`registration.waiting`). */
  readonly updateWaiting?: () => boolean;
  /**
   * Read the feed extension, as the pages do (`openOutbox({ feed })`): every device's events, and unsent
   * commands decided again when another device changed the same stream first. Off by default.
   */
  readonly feed?: boolean;
  /** For tests: the database name and IndexedDB factory (fake-indexeddb). */
  readonly dbName?: string;
  readonly indexedDB?: IDBFactory;
}

/** What a flush reports when this worker cannot use the database: nothing sent, nothing waiting on it. */
const nothingToFlush: FlushReport = {
  sent: 0,
  delivered: 0,
  dead: 0,
  retrying: 0,
  pulled: 0,
  outcome: 'idle',
  nextAttemptAt: null,
};

/** Two and a half of the three minutes Chromium gives one sync event. */
export const SYNC_EVENT_BUDGET_MS = 150_000;

/** The worker's sync, without wiring it to events (`registerWorkerSync` does both). */
export function createWorkerSync(options: WorkerSyncOptions): WorkerSync {
  let flushPromise: Promise<CoordinatedFlush> | null = null;

  const db = openPlainDatabase({
    name: options.dbName ?? SYNC_DB_NAME,
    streamTypes: options.streamTypes,
    schemaVersion: options.schemaVersion,
    ...(options.indexedDB ? { indexedDB: options.indexedDB } : {}),
    // Upgraded, or deleted with the site's data: the next flush starts an engine on what it holds now (a
    // database made again has a clientId of its own, which this worker must not send as the old one).
    onConnectionLost: () => {
      flushPromise = null;
    },
  });

  const start = async (): Promise<CoordinatedFlush> => {
    const clock = systemClock;
    const ids = uuidv7Generator(clock);
    const clientId = await getOrCreateClientId(db, ids);
    const backend = await options.backend;
    const bus = createEventRelay();
    const engine = createSyncEngine({
      storage: syncStorage(db),
      streamTypes: options.streamTypes,
      transport: backend ? backend.transport : (input, init) => fetch(input, init),
      clock,
      ids,
      clientId,
      baseUrl: options.endpoint,
      bus,
      ownerId: `worker-${ids()}`,
      online: () => navigator.onLine,
      feed: options.feed === true,
      userAgent: navigator.userAgent,
    });
    const channel = typeof BroadcastChannel === 'function' ? new BroadcastChannel(options.channelName) : null;
    return createCoordinatedFlush({ engine, bus, channel, source: 'worker', locks: navigator.locks });
  };

  const flush = async (request: FlushRequest = {}): Promise<FlushReport> => {
    flushPromise ??= start().catch((error: unknown) => {
      flushPromise = null;
      throw error;
    });
    try {
      return await (await flushPromise)(request);
    } catch (error) {
      // No database yet (no page ever ran), or one of another schema version (a page of the new version
      // upgrades it and its own worker flushes): nothing this worker may send. Asked again on the next event.
      if (!(error instanceof DatabaseUnavailableError)) throw error;
      flushPromise = null;
      console.info(`[outpost sw] not flushing: ${error.message}`);
      return nothingToFlush;
    }
  };

  // Service workers do not reliably receive `online` events: the loop looks at navigator.onLine instead.
  const settle = (reason: string) =>
    flushUntilSettled(
      {
        flush,
        now: () => systemClock.now(),
        sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
        isOnline: () => navigator.onLine,
        budgetMs: options.eventBudgetMs ?? SYNC_EVENT_BUDGET_MS,
        // A waiting version cannot activate while this event is pending: end it and let that one flush.
        shouldYield: () => options.updateWaiting?.() === true,
      },
      reason,
    );

  return {
    flush,
    async flushForBackgroundSync() {
      const { settled, report } = await settle('sync');
      if (!settled) {
        throw new Error(`Outbox not drained (${report.outcome}); the browser will retry this sync`);
      }
      return report;
    },
    async flushForPeriodicSync() {
      return (await settle('periodicsync')).report;
    },
    async flushQuietly(reason) {
      try {
        return await flush({ reasons: [reason] });
      } catch (error) {
        console.warn(`[outpost sw] flush on ${reason} failed`, error);
        return null;
      }
    },
  };
}
