import type { StoredEvent } from '../client/db';
import type { EventBus } from '../client/event-bus';
import type { Clock, IdGenerator } from '../ids';
import { PROTOCOL_VERSION, type PushRequest } from '../protocol/messages';
import type { SyncDb } from '../storage/sync-db';
import type { StreamTypes } from '../stream-types';
import type { SyncRequestError } from './errors';
import { getHealth, getPull, type HttpClientDeps, postPush } from './http-client';
import {
  type ApplyOutcome,
  applyAndClaim,
  applyPullPage,
  type Claim,
  type ClaimedEntry,
  type ClaimOptions,
  claimBatch,
  jsonBytes,
  type Verdict,
  verdictOf,
} from './outbox-store';
import { backoffDelay, type RetryPolicy, resolvePolicy } from './retry-policy';
import { patchSyncMeta, readPullCursor, readSyncMeta, type SyncMeta } from './sync-meta';

/**
 * The outbox relay. One `flush()` drains the outbox through an injected `fetch`, Dexie database and clock,
 * so the same code runs in a page and in the service worker:
 *
 *          ┌──────────── claim (rw tx) ────────────┐
 *   flush ─┤ expired lease records deleted; lane    ├─► POST /push ─► apply + next claim (one rw tx) ─┐
 *          │ heads + successors → one lease record  │   (no tx open)                                   │
 *          └────────────────────────────────────────┘                                                  │
 *             ▲                                                                                         │
 *             └──── until nothing is eligible, a transient failure or auth-required ◄──────────────────┘
 *                   then, if anything was delivered or a pull is still owed: GET /pull (hasMore)
 *
 * Safe with several engines on one database (tabs, the worker): a row is leased to one flusher at a time,
 * and every answer is idempotent on the server (eventId).
 */
export interface SyncEngineDeps {
  readonly db: SyncDb;
  /** The app's stream types: server events are checked and projected by their own. */
  readonly streamTypes: StreamTypes;
  readonly transport: typeof fetch;
  readonly clock: Clock;
  readonly ids: IdGenerator;
  readonly clientId: string;
  /** `/api/sync` on the same origin, or an absolute URL. */
  readonly baseUrl: string;
  /** Receives server events after the transaction that stored them committed. */
  readonly bus?: EventBus;
  readonly policy?: Partial<RetryPolicy>;
  /** Jitter source in [0, 1); injected so backoff is reproducible in tests. */
  readonly random?: () => number;
  /** Names this flusher on its leases; defaults to a fresh id per engine. */
  readonly ownerId?: string;
  readonly token?: string | null;
  /** When it says false, flush sends nothing and reports `offline` (navigator.onLine in a page). */
  readonly online?: () => boolean;
}

export type FlushOutcome = 'idle' | 'drained' | 'transient-failure' | 'auth-required' | 'offline';

export interface FlushReport {
  /** Events put in push requests (an entry resent after a split counts each time). */
  readonly sent: number;
  readonly delivered: number;
  readonly dead: number;
  /** Entries sent back to pending with a backoff (a `retry` answer or a transient failure). */
  readonly retrying: number;
  /** Server events stored for the first time by the pull that followed. */
  readonly pulled: number;
  readonly outcome: FlushOutcome;
  /** When a flush next has something to send; null when nothing waits on time. */
  readonly nextAttemptAt: number | null;
}

export interface FlushOptions {
  /** Ignore backoff (global and per entry): an explicit "sync now", or the browser coming back online. */
  readonly force?: boolean;
  /**
   * The caller holds the cross-context flush lock that every flusher holds for its whole flush, so a lease
   * left on the database belongs to a flusher that died (a crash, a killed tab): this flush takes its rows
   * back at once instead of waiting for the lease to pass.
   */
  readonly exclusive?: boolean;
}

export interface SyncEngine {
  /** Joins the running flush if there is one. Never rejects for a server or network failure: see the report. */
  flush(options?: FlushOptions): Promise<FlushReport>;
  /** Pulls server events until `hasMore` is false; resolves how many were new. Rejects with SyncRequestError. */
  pull(): Promise<number>;
  /** Clears the auth-required pause (optionally with a new token); the next flush sends again. */
  resumeAfterSignIn(token?: string | null): Promise<void>;
}

/** Room for the envelope around the events: protocol, clientId, batchId, brackets and keys. */
const envelopeBytes = (clientId: string, batchId: string): number =>
  jsonBytes({ protocol: PROTOCOL_VERSION, clientId, batchId, events: [] });

export function createSyncEngine(deps: SyncEngineDeps): SyncEngine {
  const { db, clock, ids, clientId } = deps;
  const policy = resolvePolicy(deps.policy);
  const random = deps.random ?? Math.random;
  const ownerId = deps.ownerId ?? ids();
  let token = deps.token ?? null;
  const http: HttpClientDeps = {
    streamTypes: deps.streamTypes,
    transport: deps.transport,
    baseUrl: deps.baseUrl,
    token: () => token,
    now: () => clock.now(),
    timeoutMs: policy.requestTimeoutMs,
  };
  const publish = (events: readonly StoredEvent[]) => {
    if (events.length > 0) deps.bus?.publish(events);
  };

  let running: Promise<FlushReport> | null = null;
  /** Where the next claim's scan of pending rows may start; kept across flushes of this engine. */
  let scanFrom: number | null = null;
  let pulling: Promise<number> | null = null;

  async function pullAll(): Promise<number> {
    let pulled = 0;
    for (;;) {
      const since = await readPullCursor(db);
      const answer = await getPull(http, clientId, since);
      if (!answer.ok) {
        await recordPullFailure(answer.error);
        throw answer.error;
      }
      const page = answer.value;
      const { stored, cursorMoved } = await applyPullPage(
        db,
        deps.streamTypes,
        since,
        page.cursor,
        page.serverEvents,
      );
      publish(stored);
      pulled += stored.length;
      // Another context moved the cursor meanwhile: it is ahead of us, let it finish.
      if (!page.hasMore || !cursorMoved) break;
    }
    await db.transaction('rw', db.meta, (db) =>
      patchSyncMeta(db, {
        lastSuccessAt: clock.now(),
        authRequired: false,
        lastError: null,
        pullOwed: false,
        pullFailures: 0,
        unreachableSince: null,
      }),
    );
    return pulled;
  }

  /**
   * A failed pull waits like a failed push: a transient failure gates the next attempt with backoff (and any
   * Retry-After), so an owed pull is retried on time by whichever context runs the schedule, never spun.
   */
  async function recordPullFailure(error: SyncRequestError): Promise<void> {
    const now = clock.now();
    await db.transaction('rw', db.meta, (db) =>
      patchSyncMeta(db, (current) => {
        const pullFailures = current.pullFailures + 1;
        const unreachableSince = unreachableAfter(error, now);
        if (error.code === 'auth_required') {
          return { lastError: error.message, authRequired: true, unreachableSince };
        }
        if (!isTransient(error)) return { lastError: error.message, pullFailures, unreachableSince };
        const at = now + Math.max(backoffDelay(pullFailures, policy, random), error.retryAfterMs ?? 0);
        return {
          lastError: error.message,
          pullFailures,
          unreachableSince,
          nextAttemptAt: Math.max(current.nextAttemptAt ?? at, at),
        };
      }),
    );
  }

  function pull(): Promise<number> {
    pulling ??= pullAll().finally(() => {
      pulling = null;
    });
    return pulling;
  }

  /**
   * Sends one claimed batch and records the answer; `next` says, from the answer, whether to claim again and
   * how, so the next claim shares the answer's transaction (one durable commit per batch).
   */
  async function sendBatch(
    batchId: string,
    entries: readonly ClaimedEntry[],
    next: (failure: SyncRequestError | null) => ClaimOptions | null,
  ): Promise<{
    failure: SyncRequestError | null;
    applied: ApplyOutcome;
    claim: Claim | null;
  }> {
    // The request carries the lease's batchId: one name for the batch in the outbox and on the wire.
    const body: PushRequest = {
      protocol: PROTOCOL_VERSION,
      clientId,
      batchId,
      events: entries.map((entry) => entry.event),
    };
    const answer = await postPush(http, body);
    const now = clock.now();
    let verdicts: Verdict[];
    let failure: SyncRequestError | null = null;
    let meta = {};
    if (answer.ok) {
      verdicts = answer.value.results.map(verdictOf);
      meta = {
        lastSuccessAt: now,
        lastError: null,
        authRequired: false,
        nextAttemptAt: null,
        unreachableSince: null,
        ...(verdicts.some((verdict) => verdict.kind === 'delivered') ? { pullOwed: true } : {}),
      };
    } else {
      failure = answer.error;
      verdicts = entries.map(() => failureVerdict(answer.error, entries.length));
      meta = {
        lastError: answer.error.message,
        unreachableSince: unreachableAfter(answer.error, now),
        ...(answer.error.code === 'auth_required' ? { authRequired: true } : {}),
      };
    }
    const { applied, claim } = await applyAndClaim(
      db,
      deps.streamTypes,
      {
        ownerId,
        batchId,
        now,
        policy,
        random,
        entries,
        verdicts,
        serverEvents: answer.ok ? answer.value.serverEvents : [],
        meta,
        gate: failure !== null && isTransient(failure),
      },
      next(failure),
    );
    publish(applied.stored);
    return { failure, applied, claim };
  }

  async function runFlush(options: FlushOptions): Promise<FlushReport> {
    const force = options.force ?? false;
    let sent = 0;
    let delivered = 0;
    let dead = 0;
    let retrying = 0;
    let pulled = 0;
    const finish = (outcome: FlushOutcome, nextAttemptAt: number | null): FlushReport => ({
      sent,
      delivered,
      dead,
      retrying,
      pulled,
      outcome,
      nextAttemptAt,
    });

    const meta = await readSyncMeta(db);
    if (meta.authRequired) return finish('auth-required', null);
    if (deps.online && !deps.online()) return finish('offline', null);
    let ignoreBackoff = force;
    if (!force && meta.nextAttemptAt !== null && meta.nextAttemptAt > clock.now()) {
      const probed = await probeWhileUnreachable(meta);
      if (probed !== 'back') return finish(probed.outcome, probed.nextAttemptAt);
      // The backoff was the outage's, not the server's answer: everything may go now.
      ignoreBackoff = true;
    }

    const sentThisFlush = new Set<string>();
    let limit = Math.max(1, policy.batchSize);
    let outcome: FlushOutcome | null = null;
    let nextAttemptAt: number | null = null;
    // Every batchId is a UUID, so any one of them sizes the envelope.
    const byteBudget = policy.maxBatchBytes - envelopeBytes(clientId, ids());
    const claimOptions = (reclaimLeases = false): ClaimOptions => ({
      ownerId,
      batchId: ids(),
      now: clock.now(),
      policy,
      limit,
      byteBudget,
      exclude: sentThisFlush,
      ...(scanFrom === null ? {} : { scanFrom }),
      ignoreBackoff,
      reclaimLeases,
    });
    // Only the first claim can meet a dead flusher's lease: while this flush holds the lock nobody else leases.
    let claim: Claim | null = await claimBatch(db, claimOptions(options.exclusive === true));
    while (claim) {
      scanFrom = claim.scanFrom;
      if (claim.entries.length === 0) {
        nextAttemptAt = earliest(claim.earliestWaitingAt, claim.leaseExpiresAt);
        break;
      }
      const entries = claim.entries;
      sent += entries.length;
      const batch = await sendBatch(claim.batchId, entries, (failure) => {
        if (failure?.code === 'too_large' && entries.length > 1) {
          // Halve and resend: the rows are released untouched, the next claim takes fewer.
          limit = Math.max(1, Math.floor(entries.length / 2));
          return claimOptions();
        }
        for (const entry of entries) sentThisFlush.add(entry.row.eventId);
        if (failure && (failure.code === 'auth_required' || isTransient(failure))) return null;
        return claimOptions();
      });
      const { failure, applied } = batch;
      claim = batch.claim;
      delivered += applied.delivered;
      dead += applied.dead;
      retrying += applied.retrying;
      if (failure?.code === 'auth_required') {
        outcome = 'auth-required';
        break;
      }
      if (failure && isTransient(failure)) {
        outcome = failure.code === 'offline' ? 'offline' : 'transient-failure';
        nextAttemptAt =
          failure.code === 'offline'
            ? earliest(applied.nextAttemptAt, clock.now() + policy.probeEveryMs)
            : applied.nextAttemptAt;
        break;
      }
    }

    if (delivered > 0 || meta.pullOwed) {
      try {
        pulled = await pull();
      } catch {
        // Recorded in the status by pull, with its backoff as the gate; the push's deliveries stand and
        // `pullOwed` stays set, so the next flush from any context pulls again even with nothing to send.
        nextAttemptAt = earliest(nextAttemptAt, (await readSyncMeta(db)).nextAttemptAt);
      }
    }
    return finish(outcome ?? (sent === 0 ? 'idle' : 'drained'), nextAttemptAt);
  }

  /**
   * A flush due before the gate, while the server could not be reached at all: every `probeEveryMs` a
   * `/health` probe asks whether it is back. It is (`back`): the flush goes now. It is not: nothing is sent
   * and the next probe is the next attempt. Either way the rows' attempts are untouched: a probe is not a send.
   */
  async function probeWhileUnreachable(
    meta: SyncMeta,
  ): Promise<'back' | { outcome: FlushOutcome; nextAttemptAt: number | null }> {
    const gate = meta.nextAttemptAt;
    const since = meta.unreachableSince;
    const now = clock.now();
    if (since === null || gate === null) return { outcome: 'transient-failure', nextAttemptAt: gate };
    const probeAt = since + policy.probeEveryMs;
    if (now < probeAt) return { outcome: 'offline', nextAttemptAt: Math.min(gate, probeAt) };
    const back = await getHealth(http);
    const after = clock.now();
    await db.transaction('rw', db.meta, (db) =>
      patchSyncMeta(db, back ? { nextAttemptAt: null, unreachableSince: null } : { unreachableSince: after }),
    );
    return back ? 'back' : { outcome: 'offline', nextAttemptAt: Math.min(gate, after + policy.probeEveryMs) };
  }

  const earliest = (a: number | null, b: number | null): number | null =>
    a === null ? b : b === null ? a : Math.min(a, b);

  /** Reachable unless the request never connected (the device itself online, or nothing was sent). */
  const unreachableAfter = (error: SyncRequestError, now: number): number | null =>
    error.code === 'offline' ? now : null;

  /** Failures of the request, not of its entries: retry the same entries later. */
  function isTransient(error: SyncRequestError): boolean {
    return error.code !== 'bad_request' && error.code !== 'too_large' && error.code !== 'auth_required';
  }

  function failureVerdict(error: SyncRequestError, batchLength: number): Verdict {
    switch (error.code) {
      case 'bad_request':
        return { kind: 'dead', deadCode: 'bad_request', lastError: error.message };
      case 'too_large':
        return batchLength > 1
          ? { kind: 'release' }
          : {
              kind: 'dead',
              deadCode: 'too_large',
              lastError: `Too large to send on its own (${error.message})`,
            };
      case 'auth_required':
        return { kind: 'release' };
      default:
        return { kind: 'retry', lastError: error.message, retryAfterMs: error.retryAfterMs };
    }
  }

  return {
    flush(options = {}) {
      running ??= runFlush(options).finally(() => {
        running = null;
      });
      return running;
    },
    pull,
    async resumeAfterSignIn(newToken) {
      if (newToken !== undefined) token = newToken;
      await db.transaction('rw', db.meta, (db) =>
        patchSyncMeta(db, { authRequired: false, nextAttemptAt: null, lastError: null }),
      );
    },
  };
}
