import { describe, expect, it } from 'vitest';
import {
  backoffDelay,
  defaultRetryPolicy,
  parseRetryAfter,
  resolvePolicy,
} from '../../../src/outbox/device/sync/retry-policy';

const policy = resolvePolicy({ baseDelayMs: 1_000, maxDelayMs: 60_000 });

describe('backoffDelay', () => {
  it('doubles the ceiling with each attempt until the cap', () => {
    const almostOne = () => 0.999_999;
    const ceilings = [1, 2, 3, 4, 5, 6, 7, 8].map((attempt) => backoffDelay(attempt, policy, almostOne));
    expect(ceilings).toEqual([999, 1_999, 3_999, 7_999, 15_999, 31_999, 59_999, 59_999]);
  });

  it('spreads delays over the whole range below the ceiling (full jitter)', () => {
    expect(backoffDelay(4, policy, () => 0)).toBe(0);
    expect(backoffDelay(4, policy, () => 0.5)).toBe(4_000);
    expect(backoffDelay(30, policy, () => 0.5)).toBe(30_000);
  });

  it('stays within bounds for out-of-range inputs', () => {
    expect(backoffDelay(0, policy, () => 0.5)).toBe(500);
    expect(backoffDelay(10_000, policy, () => 2)).toBe(60_000);
    expect(backoffDelay(3, policy, () => -1)).toBe(0);
  });

  it('ships with the defaults the docs promise', () => {
    expect(defaultRetryPolicy).toMatchObject({
      requestTimeoutMs: 15_000,
      batchSize: 100,
      maxBatchBytes: 1024 * 1024,
      maxAttempts: null,
      maxAgeMs: null,
    });
  });
});

describe('parseRetryAfter', () => {
  const now = Date.UTC(2026, 10, 26, 12, 0, 0);

  it('reads delta-seconds', () => {
    expect(parseRetryAfter('120', now)).toBe(120_000);
    expect(parseRetryAfter(' 0 ', now)).toBe(0);
  });

  it('reads an HTTP date as the time left until it', () => {
    expect(parseRetryAfter('Thu, 26 Nov 2026 12:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('Thu, 26 Nov 2026 11:00:00 GMT', now)).toBe(0);
  });

  it('ignores a missing or unreadable header', () => {
    expect(parseRetryAfter(null, now)).toBeNull();
    expect(parseRetryAfter('', now)).toBeNull();
    expect(parseRetryAfter('-5', now)).toBeNull();
    expect(parseRetryAfter('1.5', now)).toBeNull();
    expect(parseRetryAfter('soon', now)).toBeNull();
  });
});
