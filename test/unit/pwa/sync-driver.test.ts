import { BehaviorSubject } from 'rxjs';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { CoordinatedFlush } from '../../../src/outbox/device/sync/coordinated-flush';
import type { FlushReport } from '../../../src/outbox/device/sync/engine';
import type { WakeFacts } from '../../../src/outbox/device/sync/schedule';
import {
  createSyncDriver,
  holdScheduleLead,
  type Leadership,
  type PageSignals,
  type SyncDriverDeps,
  type WakeReason,
} from '../../../src/outbox/page/sync-driver';
import type { SyncMode } from '../../../src/outbox/page/sync-mode';

/**
 * The page's side of the schedule as timelines under fake timers: which wake-up makes what happen, and when
 * the leading page's timer fires. Flushes are doubles; what they would change in the database is played by
 * pushing new facts, as the live query does when any context writes.
 */

const T0 = 1_000_000;

const report = (outcome: FlushReport['outcome'] = 'drained'): FlushReport => ({
  sent: 0,
  delivered: 0,
  dead: 0,
  retrying: 0,
  pulled: 0,
  outcome,
  nextAttemptAt: null,
});

const facts = (overrides: Partial<WakeFacts> = {}): WakeFacts => ({
  undelivered: 0,
  gateUntil: null,
  retryAt: null,
  probeAt: null,
  leaseUntils: [],
  authRequired: false,
  pullOwed: false,
  ...overrides,
});

function fakeSignals() {
  const listeners = new Set<(reason: WakeReason) => void>();
  let online = true;
  const signals: PageSignals = {
    onWake(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    isOnline: () => online,
    setTimer: (callback, delay) => setTimeout(callback, delay),
    clearTimer: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
  };
  return {
    signals,
    listeners,
    wake(reason: WakeReason) {
      if (reason === 'online') online = true;
      for (const listener of listeners) listener(reason);
    },
    goOffline() {
      online = false;
    },
  };
}

/** A lock the test hands from one page to the next, as the browser does when the leading page closes. */
function fakeLeadership() {
  const waiting: { lead: () => () => void; end: (() => void) | null; stopped: boolean }[] = [];
  let holder: (typeof waiting)[number] | null = null;
  const grant = () => {
    while (!holder && waiting.length > 0) {
      const next = waiting.shift();
      if (next && !next.stopped) {
        holder = next;
        next.end = next.lead();
      }
    }
  };
  const leadership: Leadership = (lead) => {
    const entry = { lead, end: null as (() => void) | null, stopped: false };
    waiting.push(entry);
    grant();
    return () => {
      entry.stopped = true;
      entry.end?.();
      if (holder === entry) {
        holder = null;
        grant();
      }
    };
  };
  return leadership;
}

interface Page {
  readonly flush: ReturnType<typeof vi.fn<CoordinatedFlush>>;
  readonly register: ReturnType<typeof vi.fn<() => Promise<void>>>;
  readonly driver: ReturnType<typeof createSyncDriver>;
}

function openPage(
  mode: SyncMode,
  shared: { facts$: BehaviorSubject<WakeFacts>; leadership: Leadership; signals: PageSignals },
  overrides: Partial<SyncDriverDeps> = {},
): Page {
  const flush = vi.fn<CoordinatedFlush>(async () => report());
  const register = vi.fn(async () => undefined);
  const driver = createSyncDriver({
    mode,
    flush,
    registerBackgroundSync: register,
    wakeFacts$: shared.facts$,
    leadership: shared.leadership,
    now: () => Date.now(),
    signals: shared.signals,
    ...overrides,
  });
  driver.start();
  return { flush, register, driver };
}

const timerFlushes = (page: Page) =>
  page.flush.mock.calls.filter(([request]) => request?.reasons?.includes('schedule')).length;

beforeEach(() => {
  vi.useFakeTimers({ now: T0 });
});
afterEach(() => {
  vi.useRealTimers();
});

describe.each(['background-sync', 'fallback'] as const)('the schedule in %s mode', (mode) => {
  it('retries at the gate a failed request set (backoff, Retry-After), with nobody touching the page', async () => {
    const facts$ = new BehaviorSubject(facts());
    const { signals } = fakeSignals();
    const page = openPage(mode, { facts$, leadership: fakeLeadership(), signals });
    await vi.advanceTimersByTimeAsync(0);
    page.flush.mockClear();

    // A flush in any context failed and gated the next attempt 8 s ahead.
    facts$.next(facts({ undelivered: 4, gateUntil: T0 + 8_000, retryAt: T0 + 8_000 }));
    await vi.advanceTimersByTimeAsync(7_999);
    expect(timerFlushes(page)).toBe(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(page.flush).toHaveBeenCalledTimes(1);
    expect(page.flush).toHaveBeenLastCalledWith({ force: false, reasons: ['schedule'] });
    // It delivered: nothing waits on time any more, so nothing else fires.
    facts$.next(facts());
    await vi.advanceTimersByTimeAsync(10 * 60_000);
    expect(page.flush).toHaveBeenCalledTimes(1);
    page.driver.stop();
  });

  it("wakes when a dead flusher's lease passes, and when a lane's own backoff runs out", async () => {
    const facts$ = new BehaviorSubject(facts({ undelivered: 3, leaseUntils: [T0 + 20_000] }));
    const page = openPage(mode, { facts$, leadership: fakeLeadership(), signals: fakeSignals().signals });
    await vi.advanceTimersByTimeAsync(19_999);
    expect(timerFlushes(page)).toBe(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(timerFlushes(page)).toBe(1);

    facts$.next(facts({ undelivered: 1, retryAt: Date.now() + 3_000 }));
    await vi.advanceTimersByTimeAsync(3_000);
    expect(timerFlushes(page)).toBe(2);
    page.driver.stop();
  });

  it('never spins on a time already due that a flush did not change, and keeps a floor between flushes', async () => {
    const facts$ = new BehaviorSubject(facts({ undelivered: 2, retryAt: T0 - 5_000 }));
    const page = openPage(mode, { facts$, leadership: fakeLeadership(), signals: fakeSignals().signals });
    await vi.advanceTimersByTimeAsync(60_000);
    expect(timerFlushes(page)).toBe(1);
    // New facts that are due again at once: the next timer flush keeps a second's distance.
    facts$.next(facts({ undelivered: 2, retryAt: Date.now() - 1 }));
    await vi.advanceTimersByTimeAsync(0);
    expect(timerFlushes(page)).toBe(2);
    facts$.next(facts({ undelivered: 2, retryAt: Date.now() - 1 }));
    await vi.advanceTimersByTimeAsync(999);
    expect(timerFlushes(page)).toBe(2);
    await vi.advanceTimersByTimeAsync(1);
    expect(timerFlushes(page)).toBe(3);
    page.driver.stop();
  });

  it('holds no timer while offline, and goes at once when the network returns', async () => {
    const facts$ = new BehaviorSubject(facts());
    const fake = fakeSignals();
    const page = openPage(mode, { facts$, leadership: fakeLeadership(), signals: fake.signals });
    await vi.advanceTimersByTimeAsync(0);
    page.flush.mockClear();
    page.register.mockClear();
    fake.goOffline();
    facts$.next(facts({ undelivered: 2, gateUntil: Date.now() + 2_000 }));
    await vi.advanceTimersByTimeAsync(60_000);
    expect(page.flush).not.toHaveBeenCalled();

    fake.wake('online');
    await vi.advanceTimersByTimeAsync(0);
    if (mode === 'background-sync') {
      // The browser fires the sync event now that the network is back; the page re-registers in case its
      // registration was dropped after the browser's own retries.
      expect(page.register).toHaveBeenCalledTimes(1);
    } else {
      expect(page.flush).toHaveBeenCalledWith({ force: true, reasons: ['online'] });
    }
    page.driver.stop();
  });

  it('runs one timer for all open pages; when the leading page closes, the next one takes over', async () => {
    const facts$ = new BehaviorSubject(facts());
    const leadership = fakeLeadership();
    const { signals } = fakeSignals();
    const first = openPage(mode, { facts$, leadership, signals });
    const second = openPage(mode, { facts$, leadership, signals });
    facts$.next(facts({ undelivered: 1, gateUntil: Date.now() + 5_000 }));
    await vi.advanceTimersByTimeAsync(5_000);
    expect([timerFlushes(first), timerFlushes(second)]).toEqual([1, 0]);

    first.driver.stop();
    facts$.next(facts({ undelivered: 1, gateUntil: Date.now() + 5_000 }));
    await vi.advanceTimersByTimeAsync(5_000);
    expect([timerFlushes(first), timerFlushes(second)]).toEqual([1, 1]);
    second.driver.stop();
  });

  it('flushes again, well spaced, after a flush that failed unexpectedly (storage closed, a bug)', async () => {
    const facts$ = new BehaviorSubject(facts({ undelivered: 1, retryAt: T0 + 1_000 }));
    const onError = vi.fn();
    const page = openPage(
      mode,
      { facts$, leadership: fakeLeadership(), signals: fakeSignals().signals },
      { onError },
    );
    page.flush.mockRejectedValue(new Error('Database closed'));
    await vi.advanceTimersByTimeAsync(1_000);
    expect(timerFlushes(page)).toBe(1);
    await vi.advanceTimersByTimeAsync(9_999);
    expect(timerFlushes(page)).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(timerFlushes(page)).toBe(2);
    expect(onError).toHaveBeenCalled();
    page.driver.stop();
  });
});

describe('immediate wake-ups', () => {
  it('in background-sync mode, register the one-off sync tag: at start, after a command, online and visible', async () => {
    const facts$ = new BehaviorSubject(facts());
    const fake = fakeSignals();
    const page = openPage('background-sync', { facts$, leadership: fakeLeadership(), signals: fake.signals });
    page.driver.requestSync();
    fake.wake('online');
    fake.wake('visible');
    await vi.advanceTimersByTimeAsync(0);
    expect(page.register).toHaveBeenCalledTimes(4);
    expect(page.flush).not.toHaveBeenCalled();
    page.driver.stop();
  });

  it('in background-sync mode, send from the page when the browser refuses the registration', async () => {
    const facts$ = new BehaviorSubject(facts());
    const page = openPage(
      'background-sync',
      { facts$, leadership: fakeLeadership(), signals: fakeSignals().signals },
      { registerBackgroundSync: async () => Promise.reject(new DOMException('denied', 'NotAllowedError')) },
    );
    await vi.advanceTimersByTimeAsync(0);
    expect(page.flush).toHaveBeenCalledWith({ force: false, reasons: ['start:sync-registration-failed'] });
    page.driver.stop();
  });

  it('in fallback mode, flush from the page: forced at start and on wake-ups, not after a command', async () => {
    const facts$ = new BehaviorSubject(facts());
    const fake = fakeSignals();
    const page = openPage('fallback', { facts$, leadership: fakeLeadership(), signals: fake.signals });
    page.driver.requestSync();
    fake.wake('visible');
    await vi.advanceTimersByTimeAsync(0);
    expect(page.flush.mock.calls.map(([request]) => request)).toEqual([
      { force: true, reasons: ['start'] },
      { force: false, reasons: ['command'] },
      { force: true, reasons: ['visible'] },
    ]);
    page.driver.stop();
  });

  it('in fallback mode, a command while offline flushes nothing; the network coming back sends it', async () => {
    const facts$ = new BehaviorSubject(facts());
    const fake = fakeSignals();
    const page = openPage('fallback', { facts$, leadership: fakeLeadership(), signals: fake.signals });
    await vi.advanceTimersByTimeAsync(0);
    page.flush.mockClear();
    fake.goOffline();
    page.driver.requestSync();
    facts$.next(facts({ undelivered: 1 }));
    await vi.advanceTimersByTimeAsync(60_000);
    expect(page.flush).not.toHaveBeenCalled();

    fake.wake('online');
    await vi.advanceTimersByTimeAsync(0);
    expect(page.flush.mock.calls.map(([request]) => request)).toEqual([{ force: true, reasons: ['online'] }]);
    page.flush.mockClear();
    // Online again, a command flushes at once as before.
    page.driver.requestSync();
    await vi.advanceTimersByTimeAsync(0);
    expect(page.flush.mock.calls.map(([request]) => request)).toEqual([
      { force: false, reasons: ['command'] },
    ]);
    page.driver.stop();
  });

  it('a sign-in sends at once in fallback mode, past the backoff its entries ran up while they waited', async () => {
    const facts$ = new BehaviorSubject(facts({ undelivered: 1, retryAt: T0 + 60_000 }));
    const fake = fakeSignals();
    const page = openPage('fallback', { facts$, leadership: fakeLeadership(), signals: fake.signals });
    await vi.advanceTimersByTimeAsync(0);
    page.flush.mockClear();
    page.driver.resume('sign-in');
    await vi.advanceTimersByTimeAsync(0);
    expect(page.flush.mock.calls.map(([request]) => request)).toEqual([
      { force: true, reasons: ['sign-in'] },
    ]);
    page.driver.stop();
  });

  it('a sign-in registers the one-off sync tag in background-sync mode: the worker sends, forced', async () => {
    const facts$ = new BehaviorSubject(facts());
    const fake = fakeSignals();
    const page = openPage('background-sync', { facts$, leadership: fakeLeadership(), signals: fake.signals });
    await vi.advanceTimersByTimeAsync(0);
    page.register.mockClear();
    page.driver.resume('sign-in');
    await vi.advanceTimersByTimeAsync(0);
    expect(page.register).toHaveBeenCalledTimes(1);
    page.driver.stop();
  });

  it('in background-sync mode, a command while offline still registers the tag: the browser sends it later', async () => {
    const facts$ = new BehaviorSubject(facts());
    const fake = fakeSignals();
    const page = openPage('background-sync', { facts$, leadership: fakeLeadership(), signals: fake.signals });
    await vi.advanceTimersByTimeAsync(0);
    page.register.mockClear();
    fake.goOffline();
    page.driver.requestSync();
    await vi.advanceTimersByTimeAsync(0);
    expect(page.register).toHaveBeenCalledTimes(1);
    page.driver.stop();
  });

  it('"sync now" asks the worker in background-sync mode, and the page flushes when no worker answers', async () => {
    const facts$ = new BehaviorSubject(facts());
    const fromWorker = report('drained');
    const askWorker = vi.fn(async () => fromWorker);
    const page = openPage(
      'background-sync',
      { facts$, leadership: fakeLeadership(), signals: fakeSignals().signals },
      { askWorker },
    );
    await expect(page.driver.syncNow()).resolves.toBe(fromWorker);
    expect(page.flush).not.toHaveBeenCalled();
    askWorker.mockRejectedValueOnce(new Error('No service worker controls this page'));
    await page.driver.syncNow();
    expect(page.flush).toHaveBeenCalledWith({ force: true, reasons: ['sync-now'] });
    page.driver.stop();
  });

  it('stop() ends listening, the timer and the leadership', async () => {
    const facts$ = new BehaviorSubject(facts({ undelivered: 1, retryAt: T0 + 5_000 }));
    const fake = fakeSignals();
    const page = openPage('fallback', { facts$, leadership: fakeLeadership(), signals: fake.signals });
    await vi.advanceTimersByTimeAsync(0);
    page.driver.stop();
    fake.wake('online');
    await vi.advanceTimersByTimeAsync(60_000);
    expect(page.flush).toHaveBeenCalledTimes(1);
    expect(fake.listeners.size).toBe(0);
    expect(facts$.observed).toBe(false);
  });
});

describe('holdScheduleLead over Web Locks', () => {
  it('leads while it holds the lock, and hands it on when stopped', async () => {
    vi.useRealTimers();
    const granted: string[] = [];
    let queue: (() => void)[] = [];
    let held = false;
    // Just enough of a LockManager: one holder at a time, the rest wait in order.
    const locks = {
      request: (_name: string, callback: () => Promise<void> | undefined) =>
        new Promise<void>((resolve) => {
          const run = () => {
            held = true;
            void Promise.resolve(callback()).then(() => {
              held = false;
              resolve();
              const next = queue.shift();
              next?.();
            });
          };
          if (held) queue.push(run);
          else run();
        }),
    } as unknown as LockManager;
    const lead = holdScheduleLead(locks);
    const stopA = lead(() => {
      granted.push('a');
      return () => granted.push('a ended');
    });
    const stopB = lead(() => {
      granted.push('b');
      return () => granted.push('b ended');
    });
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(granted).toEqual(['a']);
    stopA();
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(granted).toEqual(['a', 'a ended', 'b']);
    stopB();
    queue = [];
  });
});
