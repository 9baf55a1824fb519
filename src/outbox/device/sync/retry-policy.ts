import { MAX_BATCH_BYTES } from '../../protocol/limits';

/**
 * How the engine waits and gives up, as plain data so a deployment (or a test) can change it without
 * touching the loop. Pure: nothing here reads a clock or a random source; both are passed in.
 */
export interface RetryPolicy {
  /** First backoff ceiling; attempt n waits a random time in [0, min(maxDelayMs, baseDelayMs · 2^(n-1))). */
  readonly baseDelayMs: number;
  /** Cap on any computed backoff (a server's Retry-After may ask for longer and is honoured). */
  readonly maxDelayMs: number;
  /** Sends after which an entry that still failed becomes a dead letter; null keeps trying forever. */
  readonly maxAttempts: number | null;
  /** Age (since the entry was written) after which a failing entry becomes a dead letter; null: no limit. */
  readonly maxAgeMs: number | null;
  /** A request with no answer after this long is abandoned (AbortSignal) and counts as transient. */
  readonly requestTimeoutMs: number;
  /** Most events in one push. */
  readonly batchSize: number;
  /** Most bytes in one push body (the protocol's limit is 1 MiB). */
  readonly maxBatchBytes: number;
  /**
   * How long a claimed entry stays ours; a flusher that dies lets it return to pending after this. Where Web
   * Locks exist, a flusher holding the flush lock takes back every lease at once (only a dead flusher can
   * have left one), so this bound only matters without them or when nobody flushes before it passes.
   */
  readonly leaseMs: number;
  /**
   * While the server cannot be reached at all, how often a `/health` probe asks whether it is back: the
   * bound on how long the outbox waits after the server returns, whatever the backoff grew to.
   */
  readonly probeEveryMs: number;
}

export const defaultRetryPolicy: RetryPolicy = {
  baseDelayMs: 1_000,
  // One device retrying its own outbox: a failed send costs the server one small request, so the cap is what
  // a person waits after the server comes back (at most this, plus the drain). Retry-After can ask for more.
  maxDelayMs: 15_000,
  maxAttempts: null,
  maxAgeMs: null,
  requestTimeoutMs: 15_000,
  batchSize: 100,
  maxBatchBytes: MAX_BATCH_BYTES,
  // The request deadline plus room for the apply transaction: a live flusher never outlives its lease (the
  // request is abandoned at 15 s), and a dead one blocks its rows no longer than this.
  leaseMs: 20_000,
  // A GET of a few bytes: cheap for the server even from every open device during an outage.
  probeEveryMs: 2_000,
};

export const resolvePolicy = (overrides: Partial<RetryPolicy> = {}): RetryPolicy => ({
  ...defaultRetryPolicy,
  ...overrides,
});

/**
 * Exponential backoff with full jitter (AWS architecture blog, "Exponential Backoff and Jitter"): spreading
 * retries uniformly below the ceiling keeps many clients that failed together from retrying together.
 * `attempt` counts sends so far (1 after the first failed send).
 */
export function backoffDelay(attempt: number, policy: RetryPolicy, random: () => number): number {
  const exponent = Math.max(0, Math.min(attempt, 1_000) - 1);
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** exponent);
  const r = Math.min(Math.max(random(), 0), 1);
  return Math.floor(r * ceiling);
}

/**
 * `Retry-After` as milliseconds from now: delta-seconds or an HTTP date (RFC 9110 §10.2.3). Null when the
 * header is absent or unreadable; a date in the past means "now" (0).
 */
export function parseRetryAfter(header: string | null, nowMs: number): number | null {
  if (header === null) return null;
  const value = header.trim();
  if (value === '') return null;
  if (/^\d+$/.test(value)) return Number(value) * 1_000;
  // Date.parse also reads bare numbers and odd strings; only accept something that names a day, like HTTP dates.
  if (!/[a-z]/i.test(value)) return null;
  const at = Date.parse(value);
  if (Number.isNaN(at)) return null;
  return Math.max(0, at - nowMs);
}
