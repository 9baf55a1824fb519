import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { FlushReport } from '../../../src/outbox/device/sync/engine';
import {
  flushUntilSettled,
  nextWakeAt,
  type SettleDeps,
  type WakeFacts,
} from '../../../src/outbox/device/sync/schedule';

const T0 = 1_000_000;

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

const report = (
  outcome: FlushReport['outcome'],
  nextAttemptAt: number | null = null,
  delivered = 0,
): FlushReport => ({ sent: delivered, delivered, dead: 0, retrying: 0, pulled: 0, outcome, nextAttemptAt });

describe('nextWakeAt: when the outbox next needs a flush', () => {
  it('is never while nothing waits, or while sign-in is needed', () => {
    expect(nextWakeAt(facts(), T0)).toBeNull();
    expect(nextWakeAt(facts({ undelivered: 5, retryAt: T0, authRequired: true }), T0)).toBeNull();
  });

  it('is the gate while one is ahead: nothing goes before a Retry-After', () => {
    expect(
      nextWakeAt(
        facts({ undelivered: 3, gateUntil: T0 + 9_000, retryAt: T0 + 1_000, leaseUntils: [T0] }),
        T0,
      ),
    ).toBe(T0 + 9_000);
  });

  it("is otherwise the earliest of a lane's backoff and a lease's expiry, even one already past", () => {
    expect(nextWakeAt(facts({ undelivered: 3, retryAt: T0 + 4_000, leaseUntils: [T0 + 20_000] }), T0)).toBe(
      T0 + 4_000,
    );
    // A lease of a flusher that died: due now, so the next flush takes its rows back.
    expect(nextWakeAt(facts({ undelivered: 3, gateUntil: T0 - 1, leaseUntils: [T0 - 500] }), T0)).toBe(
      T0 - 500,
    );
  });

  it('probes before the gate while the server cannot be reached at all', () => {
    expect(nextWakeAt(facts({ undelivered: 3, gateUntil: T0 + 12_000, probeAt: T0 + 2_000 }), T0)).toBe(
      T0 + 2_000,
    );
    // A server that answered (with a Retry-After) is reachable: no probe cuts its wait short.
    expect(nextWakeAt(facts({ undelivered: 3, gateUntil: T0 + 12_000 }), T0)).toBe(T0 + 12_000);
  });

  it('is null for entries that wait only for the person (dead letters ahead of them)', () => {
    expect(nextWakeAt(facts({ undelivered: 2 }), T0)).toBeNull();
  });

  it('retries an owed pull at the gate its failure set, and not while the delivering flush still pulls', () => {
    expect(nextWakeAt(facts({ pullOwed: true, gateUntil: T0 + 2_000 }), T0)).toBe(T0 + 2_000);
    expect(nextWakeAt(facts({ pullOwed: true, gateUntil: T0 - 1 }), T0)).toBe(T0 - 1);
    expect(nextWakeAt(facts({ pullOwed: true }), T0)).toBeNull();
  });
});

describe('flushUntilSettled: one sync event, on the engine’s own schedule', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: T0 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  const deps = (answers: FlushReport[], overrides: Partial<SettleDeps> = {}) => {
    const flush = vi.fn(async () => answers.shift() ?? report('idle'));
    const settleDeps: SettleDeps = {
      flush,
      now: () => Date.now(),
      sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
      isOnline: () => true,
      budgetMs: 150_000,
      ...overrides,
    };
    return { flush, settleDeps };
  };

  it('retries at each Retry-After and backoff until drained, and settles', async () => {
    const { flush, settleDeps } = deps([
      report('transient-failure', T0 + 1_000),
      report('transient-failure', T0 + 3_000),
      report('drained', null, 40),
    ]);
    const settling = flushUntilSettled(settleDeps, 'sync');
    await vi.advanceTimersByTimeAsync(999);
    expect(flush).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(flush).toHaveBeenCalledTimes(2);
    await vi.advanceTimersByTimeAsync(2_000);
    await expect(settling).resolves.toMatchObject({ settled: true, flushes: 3 });
    expect(flush.mock.calls.map((call) => call.at(0))).toEqual([
      { force: true, reasons: ['sync'] },
      { reasons: ['sync:retry'] },
      { reasons: ['sync:retry'] },
    ]);
    expect(Date.now()).toBe(T0 + 3_000);
  });

  it("waits for another flusher's lease to pass before it calls the outbox settled", async () => {
    const { flush, settleDeps } = deps([report('idle', T0 + 20_000), report('drained', null, 3)]);
    const settling = flushUntilSettled(settleDeps, 'sync');
    await vi.advanceTimersByTimeAsync(20_000);
    await expect(settling).resolves.toMatchObject({ settled: true });
    expect(flush).toHaveBeenCalledTimes(2);
  });

  it('gives up after its budget (so the browser retries later), never in the middle of a wait it can finish', async () => {
    const { flush, settleDeps } = deps([], { budgetMs: 30_000 });
    flush.mockImplementation(async () => report('transient-failure', Date.now() + 12_000));
    const settling = flushUntilSettled(settleDeps, 'sync');
    await vi.advanceTimersByTimeAsync(30_000);
    // Flushes at 0, 12 s and 24 s; the next would be at 36 s, past the budget, so it stops at 24 s.
    await expect(settling).resolves.toMatchObject({ settled: false, flushes: 3 });
  });

  it('while offline, looks at the network and goes at once when it returns', async () => {
    let online = false;
    const { flush, settleDeps } = deps([report('offline'), report('drained', null, 2)], {
      isOnline: () => online,
    });
    const settling = flushUntilSettled(settleDeps, 'sync');
    await vi.advanceTimersByTimeAsync(5_000);
    expect(flush).toHaveBeenCalledTimes(1);
    online = true;
    await vi.advanceTimersByTimeAsync(1_000);
    await expect(settling).resolves.toMatchObject({ settled: true, flushes: 2 });
    expect(flush).toHaveBeenLastCalledWith({ force: true, reasons: ['sync:online'] });
  });

  it('stops at once when sign-in is needed: retrying would only be refused again', async () => {
    const { flush, settleDeps } = deps([report('auth-required')]);
    await expect(flushUntilSettled(settleDeps, 'sync')).resolves.toMatchObject({ settled: true });
    expect(flush).toHaveBeenCalledTimes(1);
  });

  it('never spins on a time already due', async () => {
    const { flush, settleDeps } = deps([], { budgetMs: 2_000, minDelayMs: 250 });
    flush.mockImplementation(async () => report('drained', Date.now() - 1));
    const settling = flushUntilSettled(settleDeps, 'sync');
    await vi.advanceTimersByTimeAsync(2_000);
    await expect(settling).resolves.toMatchObject({ settled: false });
    expect(flush.mock.calls.length).toBeLessThanOrEqual(8);
  });

  it('ends early when told to yield (a new worker version waits and cannot activate until it does)', async () => {
    let waiting = false;
    const { flush, settleDeps } = deps([], { shouldYield: () => waiting });
    flush.mockImplementation(async () => report('transient-failure', Date.now() + 12_000));
    const settling = flushUntilSettled(settleDeps, 'sync');
    await vi.advanceTimersByTimeAsync(5_000);
    waiting = true;
    await vi.advanceTimersByTimeAsync(1_000);
    await expect(settling).resolves.toMatchObject({ settled: false, flushes: 1 });
  });
});
