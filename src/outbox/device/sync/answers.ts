import type { PushResult } from '../../protocol/messages';
import type { OutboxRow } from '../../storage/rows';
import { backoffDelay, type RetryPolicy } from './retry-policy';

/**
 * What an answer does to the rows it is about, pure: delivered, dead, back to pending with a backoff, or
 * released as if never sent. A request that failed as a whole gets one verdict for all its entries
 * (`failures.ts`). The apply transaction (`outbox-store.ts`) reads the rows and writes what this
 * decides.
 */

/** What became of one claimed entry. */
export type Verdict =
  | { readonly kind: 'delivered' }
  | { readonly kind: 'dead'; readonly deadCode: string; readonly lastError: string }
  | {
      readonly kind: 'retry';
      readonly lastError: string;
      readonly retryAfterMs: number | null;
      /**
       * Another device took the entry's version first (`version_conflict`) and the feed will bring its
       * events, after which the entry is decided again (`rebase.ts`): it waits for that, not for a resend.
       */
      readonly conflict?: true;
    }
  /** Not the entry's fault (auth pause, batch split): back to pending as if never sent. */
  | { readonly kind: 'release' };

/**
 * How many `version_conflict` answers an entry waits through for the feed to bring what took its version
 * before it becomes a dead letter, as it always is without a feed: the feed normally brings it at once.
 */
export const CONFLICT_WAITS = 5;

export interface VerdictOptions {
  /** The server has the feed: a version conflict is settled by deciding again, not by a dead letter. */
  readonly rebases?: boolean;
}

export function verdictOf(result: PushResult, options: VerdictOptions = {}): Verdict {
  switch (result.status) {
    case 'accepted':
    case 'duplicate':
      return { kind: 'delivered' };
    case 'rejected': {
      const code = result.code ?? 'unknown';
      if (code === 'version_conflict' && options.rebases === true) {
        return {
          kind: 'retry',
          lastError: `Another device changed this first; it is decided again once that change arrives${result.reason ? ` (${result.reason})` : ''}`,
          retryAfterMs: null,
          conflict: true,
        };
      }
      return { kind: 'dead', deadCode: `rejected:${code}`, lastError: result.reason ?? code };
    }
    case 'retry':
      return {
        kind: 'retry',
        lastError: `retry: ${result.code ?? 'unknown'}${result.reason ? ` (${result.reason})` : ''}`,
        retryAfterMs: null,
      };
    default: {
      const unknownStatus: never = result.status;
      return unknownStatus;
    }
  }
}

/** A retrying entry past the policy's attempt or age limit becomes a dead letter instead; both off by default. */
function exhausted(row: OutboxRow, policy: RetryPolicy, now: number): Verdict | null {
  if (policy.maxAttempts !== null && row.attempts >= policy.maxAttempts) {
    return { kind: 'dead', deadCode: 'max_attempts', lastError: `Gave up after ${row.attempts} attempts` };
  }
  if (policy.maxAgeMs !== null && now - row.createdAt >= policy.maxAgeMs) {
    return {
      kind: 'dead',
      deadCode: 'max_age',
      lastError: `Gave up: undelivered for ${now - row.createdAt} ms`,
    };
  }
  return null;
}

/** A conflict the feed did not settle after `CONFLICT_WAITS` answers: a dead letter, as without a feed. */
function conflictExhausted(row: OutboxRow, verdict: Extract<Verdict, { kind: 'retry' }>): Verdict | null {
  if (verdict.conflict !== true || row.attempts < CONFLICT_WAITS) return null;
  return { kind: 'dead', deadCode: 'rejected:version_conflict', lastError: verdict.lastError };
}

export interface Settlement {
  /** Rows the server acknowledged: deleted. */
  readonly delivered: readonly OutboxRow[];
  /** Rows rewritten: dead, or pending with a backoff and one more attempt. */
  readonly updates: readonly OutboxRow[];
  /** Streams whose delivery facts the answer changes (a released row changes them too: its lease goes). */
  readonly touched: ReadonlySet<string>;
  readonly dead: number;
  readonly retrying: number;
  /** Earliest backoff given to an entry; null when none. */
  readonly nextAttemptAt: number | null;
}

export interface SettleOptions {
  readonly now: number;
  readonly policy: RetryPolicy;
  readonly random: () => number;
  /** The claim's lease still names the rows: nobody took them over since. */
  readonly own: boolean;
  /** Attempts of the entries as claimed, for the backoff draw. */
  readonly claimedAttempts: readonly number[];
}

/**
 * The rows as they stand now (undefined: gone) and the verdict on each. A delivery is a fact about the
 * server and is recorded whoever holds the row; anything else changes a row only while this batch's lease
 * holds it and the row is still pending. Attempts are counted when an answer says the send failed, not at
 * the claim: a batch released (auth, 413 split) or lost with its flusher was never answered about a row.
 */
export function settleAnswer(
  rows: readonly (OutboxRow | undefined)[],
  verdicts: readonly Verdict[],
  options: SettleOptions,
): Settlement {
  const { now, policy } = options;
  const delivered: OutboxRow[] = [];
  const updates: OutboxRow[] = [];
  const touched = new Set<string>();
  let dead = 0;
  let retrying = 0;
  let nextAttemptAt: number | null = null;
  // One jitter draw per answer, from the most-tried entry (counting this send): entries that failed together
  // wait together, so a lane's head and its successors become due at the same moment.
  let drawn: number | null = null;
  const batchBackoff = () => {
    drawn ??= backoffDelay(Math.max(...options.claimedAttempts) + 1, policy, options.random);
    return drawn;
  };
  for (const [index, row] of rows.entries()) {
    const verdict = verdicts[index];
    if (!row || !verdict) continue;
    if (verdict.kind === 'delivered') {
      delivered.push(row);
      touched.add(row.streamId);
      continue;
    }
    if (!options.own || row.status !== 'pending') continue;
    // The lease's deletion is what returns the row; it changes the stream's delivery facts either way.
    touched.add(row.streamId);
    if (verdict.kind === 'release') continue;
    const tried: OutboxRow = { ...row, attempts: row.attempts + 1 };
    const final: Verdict =
      verdict.kind === 'retry'
        ? (conflictExhausted(tried, verdict) ?? exhausted(tried, policy, now) ?? verdict)
        : verdict;
    switch (final.kind) {
      case 'dead':
        updates.push({ ...tried, status: 'dead', deadCode: final.deadCode, lastError: final.lastError });
        dead += 1;
        break;
      case 'retry': {
        const at = now + Math.max(batchBackoff(), final.retryAfterMs ?? 0);
        updates.push({ ...tried, nextAttemptAt: at, lastError: final.lastError });
        nextAttemptAt = Math.min(nextAttemptAt ?? at, at);
        retrying += 1;
        break;
      }
      default:
        break;
    }
  }
  return { delivered, updates, touched, dead, retrying, nextAttemptAt };
}
