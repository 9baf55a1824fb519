import type { FlushReport } from '../sync/engine';
import type { CoordinatedFlush } from './coordinated-flush';
import { BACKGROUND_SYNC_TAG } from './worker-messages';

/**
 * Decides WHEN the page's outbox gets flushed. Two implementations behind one interface:
 *
 *   background-sync: after a command, register the one-off sync tag; the browser wakes the worker (now, or
 *                    when the network returns) and retries failed syncs itself.
 *   fallback:        the page flushes itself on `online`, on becoming visible, on a timer at the engine's
 *                    `nextAttemptAt` while entries wait, and on demand.
 *
 * Both flush under the same cross-context lock (createCoordinatedFlush), so mixing them is safe.
 */
export interface SyncDriver {
  /** The page opened: send what an earlier visit left and fetch decisions made meanwhile. */
  start(): void;
  /** A command committed: make sure its entries get sent. */
  requestSync(): void;
  /** Flush now (in this page), and wait for it. */
  syncNow(): Promise<FlushReport>;
  stop(): void;
}

export interface PageSignals {
  /** Subscribes to "the network came back" and "the page became visible"; returns the unsubscribe. */
  onWake(listener: () => void): () => void;
  setTimer(callback: () => void, delayMs: number): unknown;
  clearTimer(handle: unknown): void;
}

export interface FallbackDriverDeps {
  readonly flush: CoordinatedFlush;
  readonly now: () => number;
  readonly signals: PageSignals;
  /** Shortest wait between timer-driven flushes, so a past-due nextAttemptAt cannot spin the loop. */
  readonly minDelayMs?: number;
  readonly onError?: (error: unknown) => void;
}

export function createFallbackDriver(deps: FallbackDriverDeps): SyncDriver {
  const minDelayMs = deps.minDelayMs ?? 1_000;
  let timer: unknown = null;
  let stopped = false;

  const schedule = (nextAttemptAt: number | null) => {
    if (timer !== null) deps.signals.clearTimer(timer);
    timer = null;
    if (stopped || nextAttemptAt === null) return;
    const delay = Math.max(minDelayMs, nextAttemptAt - deps.now());
    timer = deps.signals.setTimer(() => {
      timer = null;
      void run(false, 'backoff-timer').catch(() => undefined);
    }, delay);
  };

  const run = async (force: boolean, reason: string): Promise<FlushReport> => {
    try {
      const report = await deps.flush({ force, reasons: [reason] });
      schedule(report.nextAttemptAt);
      return report;
    } catch (error) {
      deps.onError?.(error);
      // An unexpected failure (storage closed, a bug) still leaves entries pending: try again later.
      schedule(deps.now() + minDelayMs * 10);
      throw error;
    }
  };

  // Waking up (network back, page visible) is a reason to try at once rather than wait out the backoff.
  const unsubscribe = deps.signals.onWake(() => void run(true, 'wake').catch(() => undefined));

  return {
    start: () => void run(true, 'start').catch(() => undefined),
    requestSync: () => void run(false, 'command').catch(() => undefined),
    syncNow: () => run(true, 'sync-now'),
    stop() {
      stopped = true;
      unsubscribe();
      if (timer !== null) deps.signals.clearTimer(timer);
      timer = null;
    },
  };
}

interface SyncManagerLike {
  register(tag: string): Promise<void>;
}

export interface BackgroundSyncDriverDeps {
  readonly registration: Promise<ServiceWorkerRegistration>;
  /** The page's own flush, used when registering fails, and for `syncNow` when the worker cannot answer. */
  readonly flush: CoordinatedFlush;
  /** Asks the worker to flush now ('sync-now' message) and resolves with its report. */
  readonly askWorker?: () => Promise<FlushReport>;
  readonly signals: Pick<PageSignals, 'onWake'>;
  readonly onError?: (error: unknown) => void;
}

export function createBackgroundSyncDriver(deps: BackgroundSyncDriverDeps): SyncDriver {
  const register = async () => {
    try {
      const registration = await deps.registration;
      const sync = (registration as ServiceWorkerRegistration & { sync?: SyncManagerLike }).sync;
      if (!sync) throw new Error('Background Sync is not available on this registration');
      await sync.register(BACKGROUND_SYNC_TAG);
    } catch (error) {
      // Registration can be refused (permission, policy): the page sends the entries itself instead.
      deps.onError?.(error);
      await deps.flush({ reasons: ['sync-registration-failed'] }).catch(() => undefined);
    }
  };
  // The browser gives up on a sync after a few failed attempts; registering again on wake-ups restarts it.
  const unsubscribe = deps.signals.onWake(() => void register());
  return {
    // The worker's sync event flushes with force, which also pulls.
    start: () => void register(),
    requestSync: () => void register(),
    // The worker does the work in this mode; the page only steps in when no worker answers.
    syncNow: async () => {
      if (deps.askWorker) {
        try {
          return await deps.askWorker();
        } catch (error) {
          deps.onError?.(error);
        }
      }
      return deps.flush({ force: true, reasons: ['sync-now'] });
    },
    stop: unsubscribe,
  };
}

/** The real page signals: `online`, `visibilitychange` to visible, and window timers. */
export const browserSignals: PageSignals = {
  onWake(listener) {
    const onVisible = () => {
      if (document.visibilityState === 'visible') listener();
    };
    window.addEventListener('online', listener);
    document.addEventListener('visibilitychange', onVisible);
    return () => {
      window.removeEventListener('online', listener);
      document.removeEventListener('visibilitychange', onVisible);
    };
  },
  setTimer: (callback, delayMs) => window.setTimeout(callback, delayMs),
  clearTimer: (handle) => window.clearTimeout(handle as number),
};
