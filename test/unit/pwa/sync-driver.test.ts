import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { CoordinatedFlush } from '../../../src/pwa/coordinated-flush';
import {
  createBackgroundSyncDriver,
  createFallbackDriver,
  type PageSignals,
} from '../../../src/pwa/sync-driver';
import { BACKGROUND_SYNC_TAG } from '../../../src/pwa/worker-messages';
import type { FlushReport } from '../../../src/sync/engine';

const report = (outcome: FlushReport['outcome'], nextAttemptAt: number | null = null): FlushReport => ({
  sent: 0,
  delivered: 0,
  dead: 0,
  retrying: 0,
  pulled: 0,
  outcome,
  nextAttemptAt,
});

function fakeSignals() {
  const listeners = new Set<() => void>();
  const signals: PageSignals = {
    onWake(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    setTimer: (callback, delay) => setTimeout(callback, delay),
    clearTimer: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
  };
  const wake = () => {
    for (const listener of listeners) listener();
  };
  return { signals, wake, listeners };
}

beforeEach(() => {
  vi.useFakeTimers({ now: 1_000_000 });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('the fallback driver (no Background Sync)', () => {
  it('flushes after a command, then again when the backoff it was given runs out', async () => {
    const answers = [report('transient-failure', 1_000_000 + 8_000), report('drained')];
    const flush = vi.fn<CoordinatedFlush>(async () => answers.shift() ?? report('idle'));
    const { signals } = fakeSignals();
    const driver = createFallbackDriver({ flush, now: () => Date.now(), signals });

    driver.requestSync();
    await vi.advanceTimersByTimeAsync(7_999);
    expect(flush).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(flush).toHaveBeenCalledTimes(2);
    expect(flush.mock.calls[1]?.[0]).toEqual({ force: false, reasons: ['backoff-timer'] });
    await vi.advanceTimersByTimeAsync(60_000);
    expect(flush).toHaveBeenCalledTimes(2);
    driver.stop();
  });

  it('flushes at once, ignoring the backoff, when the network returns or the page becomes visible', async () => {
    const flush = vi.fn<CoordinatedFlush>(async () => report('drained'));
    const { signals, wake } = fakeSignals();
    const driver = createFallbackDriver({ flush, now: () => Date.now(), signals });
    wake();
    await vi.advanceTimersByTimeAsync(0);
    expect(flush).toHaveBeenCalledWith({ force: true, reasons: ['wake'] });
    driver.stop();
  });

  it('does not spin when the next attempt is already due', async () => {
    const flush = vi.fn<CoordinatedFlush>(async () => report('transient-failure', 0));
    const { signals } = fakeSignals();
    const driver = createFallbackDriver({ flush, now: () => Date.now(), signals, minDelayMs: 1_000 });
    driver.requestSync();
    await vi.advanceTimersByTimeAsync(999);
    expect(flush).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(flush).toHaveBeenCalledTimes(2);
    driver.stop();
  });

  it('sends and pulls at once when the page opens', async () => {
    const flush = vi.fn<CoordinatedFlush>(async () => report('idle'));
    const driver = createFallbackDriver({ flush, now: () => Date.now(), signals: fakeSignals().signals });
    driver.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(flush).toHaveBeenCalledWith({ force: true, reasons: ['start'] });
    driver.stop();
  });

  it('stops listening and cancels its timer when stopped', async () => {
    const flush = vi.fn<CoordinatedFlush>(async () => report('transient-failure', Date.now() + 5_000));
    const { signals, wake, listeners } = fakeSignals();
    const driver = createFallbackDriver({ flush, now: () => Date.now(), signals });
    driver.requestSync();
    await vi.advanceTimersByTimeAsync(0);
    driver.stop();
    wake();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(flush).toHaveBeenCalledTimes(1);
    expect(listeners.size).toBe(0);
  });
});

describe('the Background Sync driver', () => {
  it('registers the one-off sync tag after a command and on wake-ups', async () => {
    const register = vi.fn(async (_tag: string) => undefined);
    const registration = { sync: { register } } as unknown as ServiceWorkerRegistration;
    const flush = vi.fn<CoordinatedFlush>(async () => report('drained'));
    const { signals, wake } = fakeSignals();
    const driver = createBackgroundSyncDriver({
      registration: Promise.resolve(registration),
      flush,
      signals,
    });
    driver.requestSync();
    wake();
    await vi.advanceTimersByTimeAsync(0);
    expect(register.mock.calls).toEqual([[BACKGROUND_SYNC_TAG], [BACKGROUND_SYNC_TAG]]);
    expect(flush).not.toHaveBeenCalled();
    driver.stop();
  });

  it('sends from the page when the browser refuses the registration', async () => {
    const registration = {
      sync: { register: async () => Promise.reject(new DOMException('denied', 'NotAllowedError')) },
    } as unknown as ServiceWorkerRegistration;
    const flush = vi.fn<CoordinatedFlush>(async () => report('drained'));
    const driver = createBackgroundSyncDriver({
      registration: Promise.resolve(registration),
      flush,
      signals: fakeSignals().signals,
    });
    driver.requestSync();
    await vi.advanceTimersByTimeAsync(0);
    expect(flush).toHaveBeenCalledTimes(1);
    driver.stop();
  });

  it('asks the worker to flush on "sync now", and flushes in the page when the worker cannot answer', async () => {
    const flush = vi.fn<CoordinatedFlush>(async () => report('drained'));
    const registration = Promise.resolve({
      sync: { register: async () => undefined },
    } as unknown as ServiceWorkerRegistration);
    const fromWorker = report('drained');
    const askWorker = vi.fn(async () => fromWorker);
    const driver = createBackgroundSyncDriver({
      registration,
      flush,
      askWorker,
      signals: fakeSignals().signals,
    });
    await expect(driver.syncNow()).resolves.toBe(fromWorker);
    expect(flush).not.toHaveBeenCalled();

    askWorker.mockRejectedValueOnce(new Error('No service worker controls this page'));
    await driver.syncNow();
    expect(flush).toHaveBeenCalledWith({ force: true, reasons: ['sync-now'] });
    driver.stop();
  });
});
