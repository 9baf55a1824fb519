import type { Clock, IdGenerator } from '../../ids';
import { PROTOCOL_VERSION, type PushRequest } from '../../protocol/messages';
import type { StoredEvent } from '../../storage/rows';
import type { StreamTypes } from '../../stream-types';
import type { EventRelay } from '../event-relay';
import type { SyncStorage } from '../outbox-storage';
import { type Sender, senderOf } from './account';
import { type Verdict, verdictOf } from './answers';
import { catchUp } from './catch-up';
import type { SyncRequestError } from './errors';
import { type FailureReaction, reactToFailure } from './failures';
import type { FlushOutcome, FlushReport } from './flush-report';
import { getHealth, getPull, type HttpClientDeps, postPush } from './http-client';
import { type AnswerApplied, type Claim, type ClaimOptions, jsonBytes } from './outbox-store';
import { backoffDelay, type RetryPolicy, resolvePolicy } from './retry-policy';
import { pullCursorKey, type SyncMeta } from './sync-meta';

export type { FlushOutcome, FlushReport } from './flush-report';

/**
 * The outbox relay. One `flush()` drains the outbox through an injected `fetch`, database and clock, so the
 * same code runs in a page (on Dexie) and in the service worker (on plain IndexedDB). Each step below is one
 * call to the storage port it is given (`SyncStorage`), one transaction:
 *
 *            1. pass the gate           2. claim (rw tx)             3. send the batch
 *   flush ─► auth pause? offline? ─► expired leases deleted; lane ─► POST /push ─► apply + next claim ─┐
 *            backoff (probe /health)   heads + successors leased     (no tx open)    (one rw tx)        │
 *                                               ▲                                                     │
 *                                               └── until nothing is eligible, a transient failure ◄──┘
 *                                                   or auth-required
 *            4. pull: if anything was delivered or a pull is still owed, GET /pull until hasMore is false
 *
 * Safe with several engines on one database (tabs, the worker): a row is leased to one flusher at a time,
 * and every answer is idempotent on the server (eventId).
 */
export interface SyncEngineDeps {
  /**
   * The storage port's sync part (`syncStorage(database)`): over a page's Dexie database or the worker's plain
   * IndexedDB one; a test may hand it a fake.
   */
  readonly storage: SyncStorage;
  /** The app's stream types: server events are checked and projected by their own. */
  readonly streamTypes: StreamTypes;
  readonly transport: typeof fetch;
  readonly clock: Clock;
  readonly ids: IdGenerator;
  /**
   * The device's clientId (`getOrCreateClientId`): pushes and pulls go under it while nobody is signed in
   * and for the first user who signs in here; each other user has their own (`account.ts`).
   */
  readonly clientId: string;
  /** `/api/sync` on the same origin, or an absolute URL. */
  readonly baseUrl: string;
  /** Receives server events after the transaction that stored them committed. */
  readonly bus?: Pick<EventRelay, 'publish'>;
  readonly policy?: Partial<RetryPolicy>;
  /** Jitter source in [0, 1); injected so backoff is reproducible in tests. */
  readonly random?: () => number;
  /** Names this flusher on its leases; defaults to a fresh id per engine. */
  readonly ownerId?: string;
  readonly token?: string | null;
  /** When it says false, flush sends nothing and reports `offline` (navigator.onLine in a page). */
  readonly online?: () => boolean;
  /**
   * Read the feed extension (docs/protocol.md, "The feed") instead of `/pull`: every device's events, a new
   * device's history, and unsent commands decided again where another device changed the same stream first.
   * A server without it (404) is then pulled as protocol v1 says, and version conflicts stay dead letters.
   * Off by default: an engine speaks protocol v1 unless asked.
   */
  readonly feed?: boolean;
  /** The browser's user agent, for the name this device goes by until a person gives it one. */
  readonly userAgent?: string;
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
  /**
   * Pulls server events until `hasMore` is false (or, with the feed, reads it to its end); resolves how many
   * events were new. Rejects with SyncRequestError. `exclusive`: the caller holds the flush lock.
   */
  pull(options?: PullOptions): Promise<number>;
  /** Clears the auth-required pause (optionally with a new token); the next flush sends again. */
  resumeAfterSignIn(token?: string | null): Promise<void>;
}

export interface PullOptions {
  /** The caller holds the cross-context flush lock (as a flush's own pull does when it does). */
  readonly exclusive?: boolean;
}

export function createSyncEngine(deps: SyncEngineDeps): SyncEngine {
  const engine = engineOf(deps);
  let running: Promise<FlushReport> | null = null;
  let pulling: Promise<number> | null = null;
  const pull = (options: PullOptions = {}): Promise<number> => {
    pulling ??= pullAll(engine, options.exclusive === true).finally(() => {
      pulling = null;
    });
    return pulling;
  };
  const flush = (options: FlushOptions = {}): Promise<FlushReport> => {
    running ??= runFlush(engine, options, () => pull({ exclusive: options.exclusive === true })).finally(
      () => {
        running = null;
      },
    );
    return running;
  };
  return {
    flush,
    // A pull on its own (a poke of the live channel) that decided commands again sends their new events now.
    async pull(options = {}) {
      const pulled = await pull(options);
      if (engine.sendOwed && running === null) await flush({ exclusive: options.exclusive === true });
      return pulled;
    },
    async resumeAfterSignIn(newToken) {
      if (newToken !== undefined) engine.token = newToken;
      await engine.storage.patchSyncMeta({ authRequired: false, nextAttemptAt: null, lastError: null });
    },
  };
}

/** What every step of every flush of one engine shares. */
interface Engine {
  readonly storage: SyncStorage;
  readonly http: HttpClientDeps;
  readonly clock: Clock;
  readonly ids: IdGenerator;
  readonly deviceClientId: string;
  readonly policy: RetryPolicy;
  readonly random: () => number;
  readonly ownerId: string;
  readonly online: (() => boolean) | undefined;
  readonly publish: (events: readonly StoredEvent[]) => void;
  token: string | null;
  /** Where the next claim's scan of pending rows may start; kept across flushes of this engine. */
  scanFrom: number | null;
  /** The device's sign-in count when `scanFrom` was found: a sign-in since may have unparked rows below it. */
  scanSignIns: number;
  /** Whether the server has the feed: `off` (not asked to read it), unknown until asked, or known. */
  feed: 'off' | 'unknown' | 'present' | 'absent';
  /** A read of the feed decided commands again and wrote new events to send: the next chance sends them. */
  sendOwed: boolean;
  readonly userAgent: string;
}

function engineOf(deps: SyncEngineDeps): Engine {
  const policy = resolvePolicy(deps.policy);
  const engine: Engine = {
    storage: deps.storage,
    http: {
      streamTypes: deps.streamTypes,
      transport: deps.transport,
      baseUrl: deps.baseUrl,
      token: () => engine.token,
      now: () => deps.clock.now(),
      timeoutMs: policy.requestTimeoutMs,
    },
    clock: deps.clock,
    ids: deps.ids,
    deviceClientId: deps.clientId,
    policy,
    random: deps.random ?? Math.random,
    ownerId: deps.ownerId ?? deps.ids(),
    online: deps.online,
    publish: (events) => {
      if (events.length > 0) deps.bus?.publish(events);
    },
    token: deps.token ?? null,
    scanFrom: null,
    scanSignIns: 0,
    feed: deps.feed === true ? 'unknown' : 'off',
    sendOwed: false,
    userAgent: deps.userAgent ?? '',
  };
  return engine;
}

/** One flush in progress: what it may do, what it has done, and how it ends. */
interface Flush {
  /** Who this flush sends as, read once at its start: a sign-in never happens during a flush. */
  readonly sender: Sender;
  readonly ignoreBackoff: boolean;
  /** Entries sent by this flush: their lanes wait for the next flush, so one flush never spins on a retry. */
  readonly sentThisFlush: Set<string>;
  /** Most entries in the next batch: the policy's batch size, halved after each 413. */
  limit: number;
  /** Bytes the envelope leaves for events. */
  readonly byteBudget: number;
  sent: number;
  delivered: number;
  dead: number;
  retrying: number;
  pulled: number;
  /** An answer said another device took a version first: the feed brings its events, so the flush pulls. */
  conflicts: boolean;
  outcome: FlushOutcome | null;
  nextAttemptAt: number | null;
}

async function runFlush(
  engine: Engine,
  options: FlushOptions,
  pull: () => Promise<number>,
): Promise<FlushReport> {
  const gate = await passGate(engine, options.force ?? false);
  if (!gate.open) return reportOf(NOTHING_DONE, gate.outcome, gate.nextAttemptAt);
  const sender = await senderNow(engine);
  if (sender.signIns !== engine.scanSignIns) {
    engine.scanFrom = null;
    engine.scanSignIns = sender.signIns;
  }
  const flush = startFlush(engine, sender, gate.ignoreBackoff);
  // Only the first claim can meet a dead flusher's lease: while this flush holds the lock nobody else leases.
  await drain(engine, flush, claimRequest(engine, flush, options.exclusive === true));
  await pullAfterDelivery(engine, flush, gate.meta, pull);
  // The pull decided commands again (another device changed their streams first): their new events go now,
  // in this flush, rather than at whatever wakes the outbox next. Bounded: a third device racing again waits.
  for (let round = 0; round < SENDS_AFTER_REBASE && engine.sendOwed && flush.outcome === null; round += 1) {
    engine.sendOwed = false;
    const delivered = flush.delivered;
    await drain(engine, flush, claimRequest(engine, flush));
    if (flush.delivered > delivered) await pullAfterDelivery(engine, flush, gate.meta, pull);
  }
  return reportOf(flush, flush.outcome ?? (flush.sent === 0 ? 'idle' : 'drained'), flush.nextAttemptAt);
}

/** How many times one flush sends what deciding again wrote, before leaving the rest to the next flush. */
const SENDS_AFTER_REBASE = 3;

/** Steps 2 and 3 until nothing is eligible, a transient failure or a pause: claim, send, record, claim again. */
async function drain(engine: Engine, flush: Flush, first: ClaimOptions): Promise<void> {
  let claim: Claim | null = await engine.storage.claimBatch(first);
  while (claim) {
    engine.scanFrom = claim.scanFrom;
    if (claim.entries.length === 0) {
      flush.nextAttemptAt = earliest(claim.earliestWaitingAt, claim.leaseExpiresAt);
      break;
    }
    flush.sent += claim.entries.length;
    const batch = await sendBatch(engine, flush, claim);
    if (tallyBatch(engine, flush, batch)) break;
    claim = batch.claim;
  }
}

type Gate =
  | { readonly open: true; readonly meta: SyncMeta; readonly ignoreBackoff: boolean }
  | { readonly open: false; readonly outcome: FlushOutcome; readonly nextAttemptAt: number | null };

/**
 * Step 1: whether this flush may send. Not while sync is paused for sign-in or the device is offline; not
 * before the gate a failed request set, unless forced, or unless the server was unreachable and a probe
 * finds it back (the backoff was the outage's, not the server's answer: everything may go now).
 */
async function passGate(engine: Engine, force: boolean): Promise<Gate> {
  const meta = await engine.storage.readSyncMeta();
  if (meta.authRequired) return { open: false, outcome: 'auth-required', nextAttemptAt: null };
  if (engine.online && !engine.online()) return { open: false, outcome: 'offline', nextAttemptAt: null };
  if (!force && meta.nextAttemptAt !== null && meta.nextAttemptAt > engine.clock.now()) {
    const probed = await probeWhileUnreachable(engine, meta);
    if (probed !== 'back') return { open: false, ...probed };
    return { open: true, meta, ignoreBackoff: true };
  }
  return { open: true, meta, ignoreBackoff: force };
}

/** Room for the envelope around the events: protocol, clientId, batchId, brackets and keys. */
const envelopeBytes = (clientId: string, batchId: string): number =>
  jsonBytes({ protocol: PROTOCOL_VERSION, clientId, batchId, events: [] });

function startFlush(engine: Engine, sender: Sender, ignoreBackoff: boolean): Flush {
  const { policy } = engine;
  return {
    sender,
    ignoreBackoff,
    sentThisFlush: new Set(),
    limit: Math.max(1, policy.batchSize),
    // Every batchId is a UUID, so any one of them sizes the envelope.
    byteBudget: policy.maxBatchBytes - envelopeBytes(sender.clientId, engine.ids()),
    sent: 0,
    delivered: 0,
    dead: 0,
    retrying: 0,
    pulled: 0,
    conflicts: false,
    outcome: null,
    nextAttemptAt: null,
  };
}

/** Step 2: what the next claim asks for; its batchId names the lease record and the push that carries it. */
function claimRequest(engine: Engine, flush: Flush, reclaimLeases = false): ClaimOptions {
  return {
    ownerId: engine.ownerId,
    batchId: engine.ids(),
    now: engine.clock.now(),
    policy: engine.policy,
    limit: flush.limit,
    byteBudget: flush.byteBudget,
    exclude: flush.sentThisFlush,
    ...(engine.scanFrom === null ? {} : { scanFrom: engine.scanFrom }),
    ignoreBackoff: flush.ignoreBackoff,
    reclaimLeases,
  };
}

interface BatchSent extends AnswerApplied {
  /** What the request's failure as a whole means; null when the server answered each entry. */
  readonly failure: FailureReaction | null;
}

/**
 * Step 3: one claimed batch sent and its answer recorded. The answer says whether and how to go on, so the
 * next claim shares the answer's transaction (one durable commit per batch).
 */
async function sendBatch(engine: Engine, flush: Flush, claim: Claim): Promise<BatchSent> {
  const { entries, batchId } = claim;
  // The request carries the lease's batchId: one name for the batch in the outbox and on the wire.
  const body: PushRequest = {
    protocol: PROTOCOL_VERSION,
    clientId: flush.sender.clientId,
    batchId,
    events: entries.map((entry) => entry.event),
  };
  const answer = await postPush(engine.http, body);
  const now = engine.clock.now();
  const failure = answer.ok
    ? null
    : reactToFailure(answer.error, {
        sender: flush.sender,
        batchLength: entries.length,
        now,
        policy: engine.policy,
      });
  if (failure?.replacesClientId && flush.sender.user !== null) {
    // The next flush pushes under the fresh one.
    await engine.storage.replaceClientId(flush.sender.user, engine.ids);
  }
  // With the feed, a version another device took first is settled by deciding again once its events arrive.
  const rebases = engine.feed === 'unknown' || engine.feed === 'present';
  const verdicts: Verdict[] = answer.ok
    ? answer.value.results.map((result) => verdictOf(result, { rebases }))
    : entries.map(() => (failure as FailureReaction).verdict);
  if (verdicts.some((verdict) => verdict.kind === 'retry' && verdict.conflict)) flush.conflicts = true;
  const applied = await engine.storage.applyAnswer(
    {
      ownerId: engine.ownerId,
      batchId,
      now,
      policy: engine.policy,
      random: engine.random,
      entries,
      verdicts,
      serverEvents: answer.ok ? answer.value.serverEvents : [],
      meta: failure ? failure.facts : factsAfterAnswer(verdicts, now),
      gate: failure?.gates === true,
    },
    nextClaimAfter(engine, flush, claim, failure),
  );
  engine.publish(applied.applied.stored);
  return { ...applied, failure };
}

/** A valid answer: the server is reachable and takes this client, so the gate and both pauses end. */
const factsAfterAnswer = (verdicts: readonly Verdict[], now: number): Partial<SyncMeta> => ({
  lastSuccessAt: now,
  lastError: null,
  authRequired: false,
  nextAttemptAt: null,
  unreachableSince: null,
  probeAt: null,
  // Its decisions about what it accepted may wait on the server, and what another device stored first (a
  // version conflict) waits in the feed: any context's next flush pulls them.
  ...(verdicts.some(
    (verdict) => verdict.kind === 'delivered' || (verdict.kind === 'retry' && verdict.conflict),
  )
    ? { pullOwed: true }
    : {}),
});

/** From the answer to a batch: the next claim, or null when the flush stops (auth, a transient failure). */
function nextClaimAfter(
  engine: Engine,
  flush: Flush,
  claim: Claim,
  failure: FailureReaction | null,
): ClaimOptions | null {
  if (failure?.halvesBatch) {
    // The rows are released untouched, the next claim takes fewer.
    flush.limit = Math.max(1, Math.floor(claim.entries.length / 2));
    return claimRequest(engine, flush);
  }
  for (const entry of claim.entries) flush.sentThisFlush.add(entry.row.eventId);
  return failure?.outcome ? null : claimRequest(engine, flush);
}

/** Adds a batch to the flush's counts; true when the flush stops here (auth, a transient failure). */
function tallyBatch(engine: Engine, flush: Flush, { applied, failure }: BatchSent): boolean {
  flush.delivered += applied.delivered;
  flush.dead += applied.dead;
  flush.retrying += applied.retrying;
  if (!failure?.outcome) return false;
  flush.outcome = failure.outcome;
  if (failure.replacesClientId) {
    // Released untried; the next flush, due now, pushes them under the user's fresh clientId.
    flush.nextAttemptAt = engine.clock.now();
  } else if (failure.gates) {
    // Never connected: the next probe may find the server back before the backoff ends.
    const probeAt = failure.facts.probeAt ?? null;
    flush.nextAttemptAt = earliest(applied.nextAttemptAt, probeAt);
  }
  return true;
}

/**
 * Step 4: after a push that delivered anything, or while a pull is owed, the server's decisions are pulled.
 * A failed pull is recorded in the status by `pullAll`, with its backoff as the gate; the deliveries stand
 * and `pullOwed` stays set, so the next flush from any context pulls again even with nothing to send.
 */
async function pullAfterDelivery(
  engine: Engine,
  flush: Flush,
  meta: SyncMeta,
  pull: () => Promise<number>,
): Promise<void> {
  if (flush.delivered === 0 && !flush.conflicts && !meta.pullOwed) return;
  try {
    flush.pulled = await pull();
  } catch {
    flush.nextAttemptAt = earliest(flush.nextAttemptAt, (await engine.storage.readSyncMeta()).nextAttemptAt);
  }
}

type Tally = Pick<Flush, 'sent' | 'delivered' | 'dead' | 'retrying' | 'pulled'>;

/** What a flush stopped at its gate did. */
const NOTHING_DONE: Tally = { sent: 0, delivered: 0, dead: 0, retrying: 0, pulled: 0 };

const reportOf = (flush: Tally, outcome: FlushOutcome, nextAttemptAt: number | null): FlushReport => ({
  sent: flush.sent,
  delivered: flush.delivered,
  dead: flush.dead,
  retrying: flush.retrying,
  pulled: flush.pulled,
  outcome,
  nextAttemptAt,
});

/**
 * Reads the feed to its end where the server has one (`catch-up.ts`), or else pulls pages until `hasMore` is
 * false, each page stored with its cursor; resolves how many events were new.
 */
async function pullAll(engine: Engine, exclusive: boolean): Promise<number> {
  const sender = await senderNow(engine);
  if (engine.feed === 'unknown' || engine.feed === 'present') {
    const caught = await catchUp(
      {
        storage: engine.storage,
        http: engine.http,
        clock: engine.clock,
        ids: engine.ids,
        deviceClientId: engine.deviceClientId,
        userAgent: engine.userAgent,
        publish: engine.publish,
      },
      sender,
      { reclaimLeases: exclusive },
    );
    switch (caught.kind) {
      case 'failed':
        await recordPullFailure(engine, caught.error, sender);
        throw caught.error;
      case 'held':
        // Rows another flusher holds must be decided again once its answer is known: the pull stays owed,
        // and its lease's expiry is already a wake-up of the schedule.
        engine.feed = 'present';
        if (caught.rebased > 0) engine.sendOwed = true;
        return caught.pulled;
      case 'caught-up':
        engine.feed = 'present';
        if (caught.rebased > 0) engine.sendOwed = true;
        await engine.storage.patchSyncMeta(pulledToTheEnd(engine));
        return caught.pulled;
      case 'absent':
        // A protocol v1 server: pull as it says, for the life of this engine.
        engine.feed = 'absent';
        break;
      default: {
        const unknown: never = caught;
        return unknown;
      }
    }
  }
  const cursorKey = pullCursorKey(sender.clientId, engine.deviceClientId);
  let pulled = 0;
  for (;;) {
    const since = await engine.storage.readPullCursor(cursorKey);
    const answer = await getPull(engine.http, sender.clientId, since);
    if (!answer.ok) {
      await recordPullFailure(engine, answer.error, sender);
      throw answer.error;
    }
    const page = answer.value;
    const { stored, cursorMoved } = await engine.storage.storePullPage({
      cursorKey,
      since,
      cursor: page.cursor,
      events: page.serverEvents,
    });
    engine.publish(stored);
    pulled += stored.length;
    // Another context moved the cursor meanwhile: it is ahead of us, let it finish.
    if (!page.hasMore || !cursorMoved) break;
  }
  await engine.storage.patchSyncMeta(pulledToTheEnd(engine));
  return pulled;
}

/** A pull that reached the end: the server answers, takes this client, and owes it nothing. */
const pulledToTheEnd = (engine: Engine): Partial<SyncMeta> => ({
  lastSuccessAt: engine.clock.now(),
  authRequired: false,
  lastError: null,
  pullOwed: false,
  pullFailures: 0,
  unreachableSince: null,
  probeAt: null,
});

/**
 * A failed pull waits like a failed push: a transient failure gates the next attempt with backoff (and any
 * Retry-After), so an owed pull is retried on time by whichever context runs the schedule, never spun.
 */
async function recordPullFailure(engine: Engine, error: SyncRequestError, sender: Sender): Promise<void> {
  const { policy, random } = engine;
  const now = engine.clock.now();
  const failure = reactToFailure(error, { sender, batchLength: 0, now, policy });
  await engine.storage.patchSyncMeta((current) => {
    const pullFailures = current.pullFailures + 1;
    if (failure.pausesForSignIn) return failure.facts;
    if (!failure.gates) return { ...failure.facts, pullFailures };
    const at = now + Math.max(backoffDelay(pullFailures, policy, random), error.retryAfterMs ?? 0);
    return { ...failure.facts, pullFailures, nextAttemptAt: Math.max(current.nextAttemptAt ?? at, at) };
  });
}

/**
 * A flush due before the gate, while the server could not be reached at all: every `probeEveryMs` a
 * `/health` probe asks whether it is back. It is (`back`): the flush goes now. It is not: nothing is sent
 * and the next probe is the next attempt. Either way the rows' attempts are untouched: a probe is not a send.
 */
async function probeWhileUnreachable(
  engine: Engine,
  meta: SyncMeta,
): Promise<'back' | { outcome: FlushOutcome; nextAttemptAt: number | null }> {
  const { clock, policy } = engine;
  const gate = meta.nextAttemptAt;
  const since = meta.unreachableSince;
  const now = clock.now();
  if (since === null || gate === null) return { outcome: 'transient-failure', nextAttemptAt: gate };
  const probeAt = meta.probeAt ?? since + policy.probeEveryMs;
  if (now < probeAt) return { outcome: 'offline', nextAttemptAt: Math.min(gate, probeAt) };
  const back = await getHealth(engine.http);
  const after = clock.now();
  await engine.storage.patchSyncMeta(
    back
      ? { nextAttemptAt: null, unreachableSince: null, probeAt: null }
      : { unreachableSince: after, probeAt: after + policy.probeEveryMs },
  );
  return back ? 'back' : { outcome: 'offline', nextAttemptAt: Math.min(gate, after + policy.probeEveryMs) };
}

/** Who the device sends as now (`account.ts`): read at the start of each flush and each pull. */
const senderNow = async (engine: Engine): Promise<Sender> =>
  senderOf(await engine.storage.readAccount(), engine.deviceClientId);

const earliest = (a: number | null, b: number | null): number | null =>
  a === null ? b : b === null ? a : Math.min(a, b);
