import type { Sender } from './account';
import type { Verdict } from './answers';
import type { SyncRequestError } from './errors';
import type { FlushOutcome } from './flush-report';
import type { RetryPolicy } from './retry-policy';
import type { SyncMeta } from './sync-meta';

/**
 * The one place a failed request is classified: what a push or a pull that failed as a whole (no answer per
 * entry) does to the batch's entries, to the flush, and to the facts every context schedules from. The
 * engine only carries out what this says.
 *
 *   code                          entries                flush              facts
 *   ────────────────────────────  ─────────────────────  ─────────────────  ─────────────────────────────────
 *   bad_request (400)             dead (bad_request)     goes on            lastError
 *   too_large, several entries    released               resent halved      lastError
 *   too_large, one entry          dead (too_large)       goes on            lastError
 *   auth_required (401/403)       released               auth-required      authRequired (persisted pause)
 *   client_id_taken, signed in    released               again at once      the user gets a fresh clientId
 *   client_id_taken, signed out   released               auth-required      authRequired
 *   offline (never connected)     retry, backoff         offline            gate; unreachableSince, probeAt
 *   timeout, 5xx, 429, bad body   retry, backoff         transient-failure  gate (≥ Retry-After)
 */
export interface FailureReaction {
  /** What becomes of each entry of a push's batch. */
  readonly verdict: Verdict;
  /** The entries wait out a backoff that also gates every context's next send (`syncStatus.nextAttemptAt`). */
  readonly gates: boolean;
  /** Nothing is sent until someone signs in: a pause every context keeps (`syncStatus.authRequired`). */
  readonly pausesForSignIn: boolean;
  /** The server gave the signed-in user's clientId to someone else: they get a fresh one, and go again now. */
  readonly replacesClientId: boolean;
  /** The batch was too large for the server: released untried, the next claim takes half as many. */
  readonly halvesBatch: boolean;
  /** How the flush ends here; null when it goes on with the next claim. */
  readonly outcome: FlushOutcome | null;
  /** What the failure says about the server, for the stored sync facts. */
  readonly facts: Partial<SyncMeta>;
}

export interface FailureContext {
  /** Who the request went as. */
  readonly sender: Sender;
  /** Entries in the push's batch (0 for a pull). */
  readonly batchLength: number;
  readonly now: number;
  readonly policy: RetryPolicy;
}

export function reactToFailure(error: SyncRequestError, context: FailureContext): FailureReaction {
  const { sender, batchLength, now, policy } = context;
  const base = {
    gates: false,
    pausesForSignIn: false,
    replacesClientId: false,
    halvesBatch: false,
    outcome: null,
    // A server that answered, however badly, is reachable: only a request that never connected says otherwise.
    facts: { lastError: error.message, unreachableSince: null, probeAt: null },
  } satisfies Omit<FailureReaction, 'verdict'>;
  switch (error.code) {
    case 'bad_request':
      // A client defect must not spin: the whole batch is dead, the rest of the outbox goes on.
      return { ...base, verdict: { kind: 'dead', deadCode: 'bad_request', lastError: error.message } };
    case 'too_large':
      return batchLength > 1
        ? { ...base, verdict: { kind: 'release' }, halvesBatch: true }
        : {
            ...base,
            verdict: {
              kind: 'dead',
              deadCode: 'too_large',
              lastError: `Too large to send on its own (${error.message})`,
            },
          };
    case 'auth_required':
      return signInNeeded(base);
    case 'client_id_taken':
      // Signed in: the user's own clientId was taken, a fresh one fixes it. Signed out: only a sign-in does.
      return sender.user === null
        ? signInNeeded(base)
        : { ...base, verdict: { kind: 'release' }, replacesClientId: true, outcome: 'transient-failure' };
    case 'offline':
      return {
        ...base,
        verdict: { kind: 'retry', lastError: error.message, retryAfterMs: error.retryAfterMs },
        gates: true,
        outcome: 'offline',
        // Until a request succeeds, a cheap `/health` probe looks for the server from here on.
        facts: { lastError: error.message, unreachableSince: now, probeAt: now + policy.probeEveryMs },
      };
    case 'timeout':
    case 'server_error':
    case 'overloaded':
    case 'invalid_response':
      return {
        ...base,
        verdict: { kind: 'retry', lastError: error.message, retryAfterMs: error.retryAfterMs },
        gates: true,
        outcome: 'transient-failure',
      };
    default: {
      const unknownCode: never = error.code;
      return unknownCode;
    }
  }
}

const signInNeeded = (base: Omit<FailureReaction, 'verdict'>): FailureReaction => ({
  ...base,
  verdict: { kind: 'release' },
  pausesForSignIn: true,
  outcome: 'auth-required',
  facts: { ...base.facts, authRequired: true },
});
