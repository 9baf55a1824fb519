/**
 * How long to wait before the `attempt`th retry (1, 2, …): exponential from `baseMs` up to `capMs`, half of it
 * fixed and half drawn at random, so relays and consumers that lost the broker at the same moment do not all
 * come back at the same moment, and none spins.
 */
export interface Backoff {
  readonly baseMs: number;
  readonly capMs: number;
}

/**
 * The delay in ms for `attempt` (below 1 counts as 1): within [c / 2, c] where
 * c = min(capMs, baseMs · 2^(attempt − 1)), as long as `random` returns [0, 1) as `Math.random` does.
 */
export function backoffDelay(backoff: Backoff, attempt: number, random: () => number): number {
  const ceiling = Math.min(backoff.capMs, backoff.baseMs * 2 ** Math.max(0, Math.min(attempt - 1, 30)));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}
