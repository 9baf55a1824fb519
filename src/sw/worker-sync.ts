import { createPlainSyncDb, SyncDbUnavailableError } from '../idb/plain-db';
import { SYNC_DB_NAME, SYNC_SCHEMA_VERSION } from '../idb/sync-db';
import { systemClock, uuidv7Generator } from '../platform/ids';
import { type CoordinatedFlush, createCoordinatedFlush, isRetryableOutcome } from '../pwa/coordinated-flush';
import type { FlushRequest } from '../pwa/flush-lock';
import { getOrCreateClientId } from '../store/client-id';
import { EventBus } from '../store/event-bus';
import { createSyncEngine, type FlushReport } from '../sync/engine';
import type { WorkerBackend } from './backend/backend';

/**
 * The worker's side of the outbox: the same sync engine the page uses, over the same database, behind the
 * same lock. The database is opened on first use so a worker woken only to serve a fetch stays cheap, and
 * through plain IndexedDB (`src/idb/plain-db.ts`), not Dexie, which would be most of the worker's size.
 */
export interface WorkerSync {
  flush(request?: FlushRequest): Promise<FlushReport>;
  /** For Background Sync: rejects while entries remain pending for a transient reason. */
  flushForBackgroundSync(): Promise<FlushReport>;
  /** For triggers nobody waits on: logs instead of rejecting. */
  flushQuietly(reason: string): Promise<FlushReport | null>;
}

export interface WorkerSyncOptions {
  readonly endpoint: string;
  readonly backend: Promise<WorkerBackend | null>;
  readonly channelName: string;
  /** How long a sync event that found no network waits for it inside the event before failing. */
  readonly offlineGraceMs?: number;
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

/**
 * Resolves true once the worker sees the network (at once if it already does), false after `timeoutMs`.
 * Polls `navigator.onLine`: service workers do not reliably receive `online` events.
 */
async function onlineAgain(timeoutMs: number, pollMs = 250): Promise<boolean> {
  for (let waited = 0; !navigator.onLine; waited += pollMs) {
    if (waited >= timeoutMs) return false;
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
  return true;
}

export function createWorkerSync(options: WorkerSyncOptions): WorkerSync {
  let flushPromise: Promise<CoordinatedFlush> | null = null;

  const db = createPlainSyncDb({
    name: options.dbName ?? SYNC_DB_NAME,
    schemaVersion: SYNC_SCHEMA_VERSION,
    ...(options.indexedDB ? { indexedDB: options.indexedDB } : {}),
  });

  const start = async (): Promise<CoordinatedFlush> => {
    const clock = systemClock;
    const ids = uuidv7Generator(clock);
    const clientId = await getOrCreateClientId(db, ids);
    const backend = await options.backend;
    const bus = new EventBus();
    const engine = createSyncEngine({
      db,
      transport: backend ? backend.transport : (input, init) => fetch(input, init),
      clock,
      ids,
      clientId,
      baseUrl: options.endpoint,
      bus,
      ownerId: `worker-${ids()}`,
      online: () => navigator.onLine,
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
      if (!(error instanceof SyncDbUnavailableError)) throw error;
      flushPromise = null;
      console.info(`[outpost sw] not flushing: ${error.message}`);
      return nothingToFlush;
    }
  };

  return {
    flush,
    async flushForBackgroundSync() {
      // The browser fires sync when the network is back and runs its own retry schedule: skip our backoff.
      let report = await flush({ force: true, reasons: ['sync'] });
      if (report.outcome === 'offline' && (await onlineAgain(options.offlineGraceMs ?? 60_000))) {
        // The browser's sync scheduler and this worker briefly disagreed about the network (it fired while
        // the worker still saw none). Failing now would cost the browser's minutes-long retry backoff.
        report = await flush({ force: true, reasons: ['sync'] });
      }
      if (isRetryableOutcome(report)) {
        throw new Error(`Outbox not drained (${report.outcome}); the browser will retry this sync`);
      }
      return report;
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
