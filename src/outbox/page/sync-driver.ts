import type { Observable } from 'rxjs';
import type { CoordinatedFlush } from '../device/sync/coordinated-flush';
import type { FlushReport } from '../device/sync/engine';
import { nextWakeAt, type WakeFacts } from '../device/sync/schedule';
import type { SyncMode } from './sync-mode';

/**
 * Decides WHEN the page's outbox gets flushed. One schedule in both modes; the mode only says who answers
 * the immediate wake-ups:
 *
 *   wake-up                         background-sync mode                fallback mode
 *   ─────────────────────────────   ─────────────────────────────────   ──────────────────────────
 *   page start, a command, online,  register the one-off sync tag: the  the page flushes now
 *   the page becoming visible       worker flushes (now, or when the
 *                                   network returns, even if every
 *                                   page has closed by then)
 *   the schedule's next time        the page that leads flushes         the same
 *   (backoff, Retry-After, a lease
 *   passing: `nextWakeAt`)
 *   "Sync now"                      the worker, or the page if none     the page
 *
 * In fallback mode a command while offline wakes nothing: that flush would send nothing, and `online` will.
 *
 * Exactly one page of the app leads (a Web Lock it holds for its life; the next page takes over when it
 * closes), so an open app never waits for the browser's own retry of a failed sync, which Chromium makes
 * minutes later. Every flush, in any page or the worker, runs under the flush lock, so they never overlap.
 */
export interface SyncDriver {
  /** The page opened: send what an earlier visit left and fetch decisions made meanwhile. */
  start(): void;
  /** A command committed: make sure its entries get sent. */
  requestSync(): void;
  /**
   * The person did what delivery waited for (signed in): send now, not after a backoff the wait ran up while
   * nothing could go, as the network's return does.
   */
  resume(reason: 'sign-in'): void;
  /** Flush now, and wait for it. */
  syncNow(): Promise<FlushReport>;
  stop(): void;
}

/** What woke the page: the network came back, or the page became visible. */
export type WakeReason = 'online' | 'visible';

/** What the sync driver takes from the page: its wake-ups, the network and timers (tests give fakes). */
export interface PageSignals {
  /** Subscribes to "the network came back" and "the page became visible"; returns the unsubscribe. */
  onWake(listener: (reason: WakeReason) => void): () => void;
  /** Whether the device has a network now. */
  isOnline(): boolean;
  /** Calls `callback` after `delayMs`; returns a handle for `clearTimer`. */
  setTimer(callback: () => void, delayMs: number): unknown;
  /** Cancels a timer `setTimer` armed. */
  clearTimer(handle: unknown): void;
}

/**
 * Runs `lead` while this page is the one that runs the schedule's timer, and calls what it returned when
 * leadership ends (`stop`). `holdScheduleLead` (Web Locks) in a browser.
 */
export type Leadership = (lead: () => () => void) => () => void;

export interface SyncDriverDeps {
  readonly mode: SyncMode;
  /** The page's own flush, under the cross-context lock. */
  readonly flush: CoordinatedFlush;
  /** Background Sync: registers the one-off tag; rejects when the browser refuses. */
  readonly registerBackgroundSync?: () => Promise<void>;
  /** Asks the worker to flush now and resolves with its report ("Sync now" in background-sync mode). */
  readonly askWorker?: () => Promise<FlushReport>;
  /** The stored facts the schedule decides on, re-emitted whenever any context changes them. */
  readonly wakeFacts$: Observable<WakeFacts>;
  readonly leadership: Leadership;
  readonly now: () => number;
  readonly signals: PageSignals;
  /** Shortest wait between two timer flushes, so a time already due can never spin the loop. */
  readonly minDelayMs?: number;
  readonly onError?: (error: unknown) => void;
}

export function createSyncDriver(deps: SyncDriverDeps): SyncDriver {
  const minDelayMs = deps.minDelayMs ?? 1_000;
  const report = (error: unknown) => deps.onError?.(error);
  const pageFlush = (force: boolean, reason: string): Promise<FlushReport> =>
    deps.flush({ force, reasons: [reason] });

  const wakeWorker = async (reason: string): Promise<void> => {
    try {
      if (!deps.registerBackgroundSync) throw new Error('Background Sync is not available');
      await deps.registerBackgroundSync();
    } catch (error) {
      // Registration can be refused (permission, policy): the page sends the entries itself instead.
      report(error);
      await pageFlush(false, `${reason}:sync-registration-failed`);
    }
  };

  /** An immediate wake-up: the worker in background-sync mode, this page otherwise. */
  const wake = (force: boolean, reason: string) => {
    const run = deps.mode === 'background-sync' ? wakeWorker(reason) : pageFlush(force, reason);
    void run.catch(report);
  };

  const timed = createScheduleTimer({
    now: deps.now,
    signals: deps.signals,
    minDelayMs,
    fire: () => pageFlush(false, 'schedule').then(() => undefined),
    onError: report,
  });

  const unsubscribeWake = deps.signals.onWake((reason) => {
    // Waking up (network back, page visible) is a reason to try at once rather than wait out the backoff.
    wake(true, reason);
    if (reason === 'online') timed.rearm();
  });
  let stopLeading: (() => void) | null = null;

  return {
    start() {
      stopLeading ??= deps.leadership(() => {
        const subscription = deps.wakeFacts$.subscribe((facts) => timed.follow(facts));
        return () => {
          subscription.unsubscribe();
          timed.stop();
        };
      });
      // The worker's sync event and a fallback start are both forced: they also pull decisions made while away.
      wake(true, 'start');
    },
    requestSync: () => {
      // A page's flush sends nothing while the device is offline (the engine's gate), yet costs a read of the
      // sync facts, the flush lock and a report to the other contexts: after every command of an offline
      // burst, for nothing. The network's return wakes a forced flush, which sends them. The browser keeps a
      // Background Sync registration across the outage, so that mode registers as always.
      if (deps.mode === 'fallback' && !deps.signals.isOnline()) return;
      wake(false, 'command');
    },
    resume: (reason) => wake(true, reason),
    async syncNow() {
      if (deps.mode === 'background-sync' && deps.askWorker) {
        try {
          return await deps.askWorker();
        } catch (error) {
          // Not controlled yet (first visit) or no worker at all: the page flushes itself instead.
          report(error);
        }
      }
      return pageFlush(true, 'sync-now');
    },
    stop() {
      unsubscribeWake();
      stopLeading?.();
      stopLeading = null;
    },
  };
}

interface ScheduleTimerDeps {
  readonly now: () => number;
  readonly signals: PageSignals;
  readonly minDelayMs: number;
  readonly fire: () => Promise<void>;
  readonly onError: (error: unknown) => void;
}

/**
 * The leading page's one timer: armed at the schedule's next time for the latest facts, never while the
 * device is offline (`online` re-arms it), and never twice for the same moment — a flush at a due time
 * changes the facts (it sends, deletes a passed lease, or writes the next time), and only a change re-arms.
 */
function createScheduleTimer(deps: ScheduleTimerDeps) {
  let handle: unknown = null;
  let latest: WakeFacts | null = null;
  let firedFor: number | null = null;
  let lastFireAt = Number.NEGATIVE_INFINITY;

  const clear = () => {
    if (handle !== null) deps.signals.clearTimer(handle);
    handle = null;
  };
  const arm = () => {
    clear();
    if (latest === null || !deps.signals.isOnline()) return;
    const now = deps.now();
    const at = nextWakeAt(latest, now);
    if (at === null || at === firedFor) return;
    const delay = Math.max(0, at - now, lastFireAt + deps.minDelayMs - now);
    handle = deps.signals.setTimer(() => {
      handle = null;
      firedFor = at;
      lastFireAt = deps.now();
      deps.fire().catch((error: unknown) => {
        // An unexpected failure (storage closed, a bug) changed nothing: try again, well spaced.
        deps.onError(error);
        lastFireAt = deps.now() + deps.minDelayMs * 9;
        rearm();
      });
    }, delay);
  };
  const rearm = () => {
    firedFor = null;
    arm();
  };
  return {
    follow(facts: WakeFacts) {
      latest = facts;
      rearm();
    },
    rearm,
    stop: clear,
  };
}

/**
 * Leadership through a Web Lock held for the page's life: the browser releases it when the page closes or
 * crashes, and hands it to the next page waiting for it. Without Web Locks every page leads: their timers
 * then overlap, which the outbox leases make harmless.
 */
export function holdScheduleLead(locks: LockManager | undefined, name = 'outpost-schedule'): Leadership {
  return (lead) => {
    if (!locks) {
      const end = lead();
      return end;
    }
    let end: (() => void) | null = null;
    let release: (() => void) | null = null;
    let stopped = false;
    void locks
      .request(name, () => {
        if (stopped) return undefined;
        end = lead();
        return new Promise<void>((resolve) => {
          release = resolve;
        });
      })
      .catch(() => undefined);
    return () => {
      stopped = true;
      end?.();
      release?.();
    };
  };
}

/** The real page signals: `online`, `visibilitychange` to visible, and window timers. */
export const browserSignals: PageSignals = {
  onWake(listener) {
    const onOnline = () => listener('online');
    const onVisible = () => {
      if (document.visibilityState === 'visible') listener('visible');
    };
    window.addEventListener('online', onOnline);
    document.addEventListener('visibilitychange', onVisible);
    return () => {
      window.removeEventListener('online', onOnline);
      document.removeEventListener('visibilitychange', onVisible);
    };
  },
  isOnline: () => navigator.onLine,
  setTimer: (callback, delayMs) => window.setTimeout(callback, delayMs),
  clearTimer: (handle) => window.clearTimeout(handle as number),
};
