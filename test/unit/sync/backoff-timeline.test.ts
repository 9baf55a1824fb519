import { expect, it } from 'vitest';
import {
  type createTestBackend,
  loggingTransport,
  type PushLogEntry,
  seededRandom,
  setupSyncTestServer,
} from './harness';

/**
 * The backoff schedule as a timeline: the engine is flushed whenever it says it is due (and once just
 * before), against a server that keeps failing, and each wait is checked against the policy.
 */

const { setup } = setupSyncTestServer({ seed: 31 });

const policy = { baseDelayMs: 1_000, maxDelayMs: 16_000 };

async function timeline(
  random: () => number,
  rounds: number,
  faults: Parameters<typeof createTestBackend>[0]['faults'],
) {
  const { clock, client } = setup({ faults });
  await client.draftOrder(['SKU-1']);
  const log: PushLogEntry[] = [];
  const engine = client.engine({ policy, random, transport: loggingTransport(fetch, log) });
  const waits: number[] = [];
  for (let round = 0; round < rounds; round += 1) {
    const sentAt = clock.now();
    const report = await engine.flush();
    expect(report.outcome).toBe('transient-failure');
    expect(log).toHaveLength(round + 1);
    const due = report.nextAttemptAt ?? Number.NaN;
    waits.push(due - sentAt);
    // One millisecond early, nothing goes out.
    if (due > sentAt) {
      clock.set(due - 1);
      expect(await engine.flush()).toMatchObject({ sent: 0 });
      expect(log).toHaveLength(round + 1);
    }
    clock.set(due);
  }
  return waits;
}

it('grows exponentially, stays within the full-jitter bounds and never passes the cap', async () => {
  const waits = await timeline(seededRandom(2026), 10, { failureRate: 1, failureKinds: ['500'] });
  for (const [index, wait] of waits.entries()) {
    const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** index);
    expect(wait).toBeGreaterThanOrEqual(0);
    expect(wait).toBeLessThan(ceiling);
  }
  // Jittered: not one fixed schedule.
  expect(new Set(waits).size).toBeGreaterThan(5);
});

it('at the top of the jitter range shows the doubling and the cap plainly', async () => {
  const waits = await timeline(() => 0.999_999, 7, { failureRate: 1, failureKinds: ['500'] });
  expect(waits).toEqual([999, 1_999, 3_999, 7_999, 15_999, 15_999, 15_999]);
});

it('waits at least Retry-After, even above the cap', async () => {
  const waits = await timeline(() => 0.999_999, 6, {
    failureRate: 1,
    failureKinds: ['503'],
    retryAfterSeconds: 10,
  });
  // Retry-After wins while it is longer than the backoff; the cap limits the backoff, never the server's ask.
  expect(waits).toEqual([10_000, 10_000, 10_000, 10_000, 15_999, 15_999]);
  const longer = await timeline(() => 0.999_999, 2, { rateLimit: { retryAfterSeconds: 60 } });
  expect(longer).toEqual([60_000, 60_000]);
});
