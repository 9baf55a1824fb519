import { describe, expect, it } from 'vitest';
import { backoffDelay } from '../../src/outbox/server/relay/backoff';

describe('the back-off of the relay and the consumer services', () => {
  const backoff = { baseMs: 200, capMs: 15_000 };

  it('doubles from the base up to the cap, half of each delay fixed and half drawn at random', () => {
    const lowest = [1, 2, 3, 4, 5, 6, 7, 8, 30, 1_000].map((attempt) =>
      backoffDelay(backoff, attempt, () => 0),
    );
    const highest = [1, 2, 3, 4, 5, 6, 7, 8, 30, 1_000].map((attempt) =>
      backoffDelay(backoff, attempt, () => 1),
    );
    expect(lowest).toEqual([100, 200, 400, 800, 1_600, 3_200, 6_400, 7_500, 7_500, 7_500]);
    expect(highest).toEqual([200, 400, 800, 1_600, 3_200, 6_400, 12_800, 15_000, 15_000, 15_000]);
  });

  it('spreads relays that failed at the same moment over the upper half of the delay', () => {
    const draws = [0.1, 0.5, 0.9];
    expect(draws.map((draw) => backoffDelay(backoff, 3, () => draw))).toEqual([440, 600, 760]);
  });
});
