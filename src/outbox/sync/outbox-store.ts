import type {
  DeliveryRow,
  LeaseRow,
  OutboxRow,
  StoredClientEvent,
  StoredEvent,
  StoredServerEvent,
} from '../client/db';
import { leasedEventIds } from '../client/outbox-view';
import {
  deliveryOf,
  projectEvents,
  readModelTableNames,
  refreshDelivery,
  sameDelivery,
} from '../client/projections';
import type { PushResult, WireClientEvent, WireServerEvent } from '../protocol/messages';
import { all, maxKey, minKey, type SyncDb, type SyncTables } from '../storage/sync-db';
import type { StreamTypes } from '../stream-types';
import { backoffDelay, type RetryPolicy } from './retry-policy';
import { PULL_CURSOR_KEY, patchSyncMeta, readSyncMeta, SYNC_STATUS_KEY, type SyncMeta } from './sync-meta';

/**
 * The engine's two transactions around a push: claim (pick a batch and write its lease record) and apply
 * (record the answer, delete the lease). The fetch happens between them, never inside one: Dexie commits a
 * transaction that awaits anything else.
 *
 * Rows are never rewritten to show they are in flight: the batch's lease record names them. A delivered row is
 * deleted in the transaction that records the answer; a row is rewritten only when its answer is a retry or a
 * dead letter (attempts are counted then, not at the claim).
 */

/**
 * Every table a claim or an apply may write: outbox rows, leases, server events and what they project to
 * (snapshots, delivery facts, every stream type's read models), sync meta. A claim alone needs no read model.
 */
const CLAIM_TABLES = ['events', 'outbox', 'leases', 'streams', 'deliveries', 'meta'];
export const syncTables = (types: StreamTypes): string[] => [...CLAIM_TABLES, ...readModelTableNames(types)];

export interface ClaimedEntry {
  /** The row as the claim read it: still pending, named by the claim's lease record. */
  readonly row: OutboxRow;
  readonly event: WireClientEvent;
  /** UTF-8 bytes of the event's JSON, for the batch budget. */
  readonly bytes: number;
}

export interface ClaimOptions {
  readonly ownerId: string;
  /** Names the lease record and the push request that carries the batch. */
  readonly batchId: string;
  readonly now: number;
  readonly policy: RetryPolicy;
  /** Most entries in this batch (below policy.batchSize after a 413 split). */
  readonly limit: number;
  /** Bytes the envelope leaves for events. */
  readonly byteBudget: number;
  /** Entries already sent by this flush: their lanes wait for the next flush, so one flush cannot spin. */
  readonly exclude: ReadonlySet<string>;
  /** Send lane heads even before their backoff expires (an explicit "sync now"). */
  readonly ignoreBackoff: boolean;
  /** Lowest position a pending row can have, from the previous claim (see `Claim.scanFrom`). */
  readonly scanFrom?: number;
  /**
   * The caller holds the cross-context flush lock, which every flusher holds for its whole flush: any lease
   * record left is a dead flusher's (a crash, a killed tab), so it is taken back now instead of at `until`.
   */
  readonly reclaimLeases?: boolean;
}

export interface Claim {
  /** The lease record's key (`ClaimOptions.batchId`); nothing was leased when `entries` is empty. */
  readonly batchId: string;
  readonly entries: readonly ClaimedEntry[];
  /** Earliest backoff among lanes that were eligible but for time; null when none waits on time. */
  readonly earliestWaitingAt: number | null;
  /** Earliest `until` of another flusher's live lease that holds pending rows: they return to the pool then. */
  readonly leaseExpiresAt: number | null;
  /**
   * A lower bound on the position of any row that can be pending at the next claim: rows in flight stay
   * pending (their lease names them), a row only becomes pending again from dead, and new rows come after
   * every existing one. Starting the next scan there skips the index entries that delivered (deleted) rows
   * left behind at the head of the range, which IndexedDB on LevelDB keeps as tombstones until compaction
   * (docs/sync.md).
   */
  readonly scanFrom: number;
}

const encoder = new TextEncoder();
export const jsonBytes = (value: unknown): number => encoder.encode(JSON.stringify(value)).byteLength;

const rowsWithStatus = (db: SyncTables, status: OutboxRow['status']) =>
  db.outbox.where('[status+position]').between([status, minKey], [status, maxKey]);

export function toWireEvent(event: StoredClientEvent): WireClientEvent {
  return {
    eventId: event.eventId,
    streamId: event.streamId,
    version: event.version,
    schemaVersion: 1,
    metadata: event.metadata,
    type: event.type,
    data: event.data,
  };
}

/**
 * One rw transaction: expired lease records are deleted (which alone returns their rows), then pending rows
 * are taken in position order under the lane rule — a stream's lowest undelivered version is its head; the
 * head is eligible when it is not in a live lease, nothing older of the stream is in flight or dead and its
 * backoff has passed; later versions of the same stream follow it in order, never alone. A held-back lane is
 * skipped, so it never holds back another stream. The batch is leased with one record.
 */
export function claimBatch(db: SyncDb, options: ClaimOptions): Promise<Claim> {
  return db.transaction('rw', CLAIM_TABLES, async (db) => {
    const touched = new Set<string>();
    const claim = await claimWithin(db, options, touched, new Held());
    await refreshDelivery(db, touched);
    return claim;
  });
}

/**
 * Reads `positions` (ascending) from a table keyed or indexed by position: one ranged getAll when they are
 * close together, as a drain's batch is, instead of one IndexedDB get per key (Dexie's bulkGet);
 * scattered positions fall back to bulkGet so a sparse batch never reads a long range.
 */
async function readByPosition<T extends { readonly position?: number }>(
  positions: readonly number[],
  range: (from: number, to: number) => Promise<T[]>,
  byKey: () => Promise<(T | undefined)[]>,
): Promise<T[]> {
  const first = positions[0];
  const last = positions.at(-1);
  if (first === undefined || last === undefined) return [];
  if (last - first + 1 > 2 * positions.length + 64) {
    return (await byKey()).flatMap((row) => (row ? [row] : []));
  }
  const wanted = new Set(positions);
  return (await range(first, last)).filter((row) => row.position !== undefined && wanted.has(row.position));
}

/**
 * Outbox rows a transaction read or wrote, as they stand now; `gone` holds those it deleted (delivered), so
 * the sync-state refresh knows their versions are settled without reading them again.
 */
class Held {
  readonly rows = new Map<string, OutboxRow>();
  readonly gone = new Map<string, OutboxRow>();
  keep(row: OutboxRow): void {
    this.rows.set(row.eventId, row);
    this.gone.delete(row.eventId);
  }
  drop(row: OutboxRow): void {
    this.rows.delete(row.eventId);
    this.gone.set(row.eventId, row);
  }
}

/** The claim's work, inside the caller's transaction over syncTables; adds the streams it changed to `touched`. */
async function claimWithin(
  db: SyncTables,
  options: ClaimOptions,
  touched: Set<string>,
  held: Held,
): Promise<Claim> {
  const { now, policy } = options;
  const blockedBelow = new Map<string, number>();
  const block = (row: OutboxRow) => {
    const current = blockedBelow.get(row.streamId);
    if (current === undefined || row.version < current) blockedBelow.set(row.streamId, row.version);
  };

  // Pages read with getAll, not a cursor: a cursor costs one IndexedDB round trip per row
  // (docs/performance.md). The first page is read in the same round as the leases and the dead rows: the rows
  // it returns do not depend on them, only which of them may go.
  const pageSize = Math.max(options.limit, 64);
  const readPage = (from: number | undefined, includeFrom: boolean) =>
    db.outbox
      .where('[status+position]')
      .between(['pending', from ?? minKey], ['pending', maxKey], includeFrom)
      .limit(pageSize)
      .toArray();
  const [leases, dead, firstPage, meta] = await Promise.all([
    db.leases.toArray(),
    rowsWithStatus(db, 'dead').toArray(),
    readPage(options.scanFrom, true),
    readSyncMeta(db),
  ]);
  const gone = (lease: LeaseRow) => options.reclaimLeases === true || lease.until <= now;
  const expired = leases.filter(gone);
  const live = leases.filter((lease) => !gone(lease));
  // A row in a live lease is in flight: it and everything after it in its stream wait.
  const leased = leasedEventIds(live);
  let leaseExpiresAt: number | null = null;
  if (leases.length > 0) {
    // Only other flushers' leases (ours was deleted by the apply before this claim) or dead ones: rare, few.
    // Deleting an expired record returns its rows to the pool, no row is rewritten, and no summary either:
    // stored sync state does not count leases (`summaryView`).
    const [rows] = await Promise.all([
      live.length > 0 ? db.outbox.bulkGet(live.flatMap((lease) => lease.eventIds)) : [],
      expired.length > 0 ? db.leases.bulkDelete(expired.map((lease) => lease.batchId)) : undefined,
    ]);
    const held = new Set<string>();
    for (const row of rows) {
      if (!row) continue;
      block(row);
      if (row.status === 'pending') held.add(row.eventId);
    }
    // A live lease is a wake-up: when it passes, its rows may be claimed again (docs/sync.md, "Leases").
    for (const lease of live) {
      if (!lease.eventIds.some((eventId) => held.has(eventId))) continue;
      leaseExpiresAt = Math.min(leaseExpiresAt ?? lease.until, lease.until);
    }
  }
  for (const row of dead) block(row);
  let lowest = Number.POSITIVE_INFINITY;
  for (const row of dead) lowest = Math.min(lowest, row.position);

  const lanes = new Map<string, { open: boolean; version: number }>();
  const candidates: OutboxRow[] = [];
  let earliestWaitingAt: number | null = null;
  const visit = (row: OutboxRow): void => {
    lowest = Math.min(lowest, row.position);
    const inFlight = leased.has(row.eventId);
    const lane = lanes.get(row.streamId);
    if (lane) {
      if (lane.open && !inFlight && row.version === lane.version + 1) {
        lane.version = row.version;
        candidates.push(row);
      } else {
        lane.open = false;
      }
      return;
    }
    const blocker = blockedBelow.get(row.streamId);
    let open = !inFlight && !(blocker !== undefined && blocker < row.version);
    const waiting = options.exclude.has(row.eventId) || (!options.ignoreBackoff && row.nextAttemptAt > now);
    if (open && waiting) {
      open = false;
      const at = Math.max(row.nextAttemptAt, now);
      earliestWaitingAt = Math.min(earliestWaitingAt ?? at, at);
    }
    lanes.set(row.streamId, { open, version: row.version });
    if (open) candidates.push(row);
  };
  // Rows are visited in position order and the scan stops as soon as the batch is full.
  let page = firstPage;
  scan: for (;;) {
    for (const row of page) {
      if (candidates.length >= options.limit) break scan;
      visit(row);
    }
    const last = page.at(-1);
    if (!last || page.length < pageSize) break;
    page = await readPage(last.position, false);
  }

  // By primary key (the row's position): an anyOf on eventId walks a cursor, one IndexedDB round trip per
  // event (docs/performance.md). Candidates are in position order.
  const positions = candidates.map((row) => row.position);
  const stored = await readByPosition<StoredEvent>(
    positions,
    (from, to) => db.events.where('position').between(from, to, true, true).toArray(),
    () => db.events.bulkGet(positions),
  );
  const eventsById = new Map(stored.map((event) => [event.eventId, event] as const));
  const entries: ClaimedEntry[] = [];
  const cut = new Set<string>();
  let bytes = 0;
  for (const row of candidates) {
    if (cut.has(row.streamId)) continue;
    const event = eventsById.get(row.eventId);
    if (event?.kind !== 'client') {
      // An outbox row whose event is gone cannot be sent or delivered: a dead letter, not a silent drop.
      const deadRow: OutboxRow = {
        ...row,
        status: 'dead',
        deadCode: 'missing_event',
        lastError: 'The event behind this entry is missing from the local store',
      };
      await db.outbox.put(deadRow);
      held.keep(deadRow);
      touched.add(row.streamId);
      cut.add(row.streamId);
      continue;
    }
    const wire = toWireEvent(event);
    const size = jsonBytes(wire) + 1;
    // The first entry always goes, even oversized: the server's 413 turns it into a dead letter.
    if (entries.length > 0 && bytes + size > options.byteBudget) {
      cut.add(row.streamId);
      continue;
    }
    bytes += size;
    entries.push({ row, event: wire, bytes: size });
    // Held, not touched: the lease changes no stored summary, but a refresh in the same transaction (after
    // an apply) need not read this row again.
    held.keep(row);
  }
  if (entries.length > 0) {
    const lease: LeaseRow = {
      batchId: options.batchId,
      ownerId: options.ownerId,
      until: now + policy.leaseMs,
      eventIds: entries.map((entry) => entry.row.eventId),
      streamIds: [...new Set(entries.map((entry) => entry.row.streamId))],
    };
    await db.leases.add(lease);
  }
  if (entries.length === 0 && meta.retryAt !== earliestWaitingAt) {
    // The claim that ends a flush says when a lane it left waiting may go, for every context's schedule.
    await db.meta.put({ key: SYNC_STATUS_KEY, value: { ...meta, retryAt: earliestWaitingAt } });
  }
  if (lowest === Number.POSITIVE_INFINITY) {
    // No row is pending or dead: the next one is an event not written yet, after the last stored event. Read
    // from the event store, never from the outbox: an outbox drained empty is all deleted entries, and
    // reading its last position walks every tombstone back to the start (6.6 s after a 3,000-row drain).
    const last = await db.events.orderBy('position').last();
    lowest = last?.position !== undefined ? last.position + 1 : (options.scanFrom ?? 0);
  }
  return { batchId: options.batchId, entries, earliestWaitingAt, leaseExpiresAt, scanFrom: lowest };
}

/** What became of one claimed entry. */
export type Verdict =
  | { readonly kind: 'delivered' }
  | { readonly kind: 'dead'; readonly deadCode: string; readonly lastError: string }
  | { readonly kind: 'retry'; readonly lastError: string; readonly retryAfterMs: number | null }
  /** Not the entry's fault (auth pause, batch split): back to pending as if never sent. */
  | { readonly kind: 'release' };

export function verdictOf(result: PushResult): Verdict {
  switch (result.status) {
    case 'accepted':
    case 'duplicate':
      return { kind: 'delivered' };
    case 'rejected': {
      const code = result.code ?? 'unknown';
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

export interface ApplyOptions {
  readonly ownerId: string;
  /** The claim's batchId: the lease this answer settles. */
  readonly batchId: string;
  readonly now: number;
  readonly policy: RetryPolicy;
  readonly random: () => number;
  readonly entries: readonly ClaimedEntry[];
  readonly verdicts: readonly Verdict[];
  readonly serverEvents: readonly WireServerEvent[];
  readonly meta: Partial<SyncMeta>;
  /**
   * A transient failure of the whole request: the earliest backoff given here also becomes the global gate
   * (`syncStatus.nextAttemptAt`), in the same transaction, so every context waits for it.
   */
  readonly gate?: boolean;
}

export interface ApplyOutcome {
  readonly delivered: number;
  readonly dead: number;
  readonly retrying: number;
  /** Earliest backoff given to an entry by this answer; null when none. */
  readonly nextAttemptAt: number | null;
  /** Server events stored for the first time, to publish once the transaction committed. */
  readonly stored: readonly StoredServerEvent[];
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

/**
 * One rw transaction for a whole answer: outbox rows (delivered ones deleted), the batch's lease record,
 * server events (idempotent by eventId) and their projection, sync state and sync meta commit together, so a
 * crash leaves the answer wholly applied or not at all (and a resend is answered `duplicate`).
 *
 * When the batch's lease is gone (it expired and another claim took the rows), its entries are left to
 * whoever holds them now, except that a delivery is a fact about the server and is recorded whoever holds
 * the row.
 */
export async function applyAnswer(
  db: SyncDb,
  types: StreamTypes,
  options: ApplyOptions,
): Promise<ApplyOutcome> {
  return (await applyAndClaim(db, types, options, null)).applied;
}

/**
 * `applyAnswer`, then, when `next` is given, the next claim in the same transaction: one durable commit per
 * batch instead of two, and one sync-state refresh for the streams both touched. Atomic as a whole, so a
 * crash leaves the answer and the next lease both written or neither (the rows stay leased to nobody and
 * are claimed again; a resend is answered `duplicate`).
 */
export async function applyAndClaim(
  db: SyncDb,
  types: StreamTypes,
  options: ApplyOptions,
  next: ClaimOptions | null,
): Promise<{ applied: ApplyOutcome; claim: Claim | null }> {
  return db.transaction('rw', syncTables(types), async (db) => {
    const touched = new Set<string>();
    const held = new Held();
    const applied = await applyWithin(db, types, options, touched, held);
    const claim = next ? await claimWithin(db, next, touched, held) : null;
    const floors = laneFloors([...options.entries, ...(claim?.entries ?? [])]);
    await refreshDeliveryAbove(db, touched, floors, held);
    return { applied, claim };
  });
}

/**
 * Per stream, the lowest version a claim handed out. A claim takes a lane from its head, the stream's lowest
 * undelivered row, so every row of the stream below that version was delivered (deleted) when it was
 * claimed: those versions cannot affect the stream's sync state.
 */
function laneFloors(entries: readonly ClaimedEntry[]): Map<string, number> {
  const floors = new Map<string, number>();
  for (const { row } of entries) {
    const floor = floors.get(row.streamId);
    if (floor === undefined || row.version < floor) floors.set(row.streamId, row.version);
  }
  return floors;
}

/**
 * `refreshDelivery` for the drain: a stream with a floor is recomputed from its rows at or above it only
 * (one ranged read on `[streamId+version]`), since delivered rows are gone and change nothing in
 * `deliveryOf`; a drain then never reads back rows it already holds (docs/performance.md). Other streams get
 * the full refresh. Leases are not counted. Writes a delivery row only when it changes.
 */
async function refreshDeliveryAbove(
  db: SyncTables,
  touched: ReadonlySet<string>,
  floors: ReadonlyMap<string, number>,
  held: Held,
): Promise<void> {
  // Rows this transaction read, wrote or deleted, by stream and version (null: deleted): where they cover
  // every version from the floor up to their highest, only the rows above that are read.
  const byVersion = new Map<string, Map<number, OutboxRow | null>>();
  const note = (row: OutboxRow, value: OutboxRow | null) => {
    const versions = byVersion.get(row.streamId) ?? new Map<number, OutboxRow | null>();
    versions.set(row.version, value);
    byVersion.set(row.streamId, versions);
  };
  for (const row of held.gone.values()) note(row, null);
  for (const row of held.rows.values()) note(row, row);
  const readFrom = new Map<string, { version: number; rows: OutboxRow[] }>();
  for (const [streamId, floor] of floors) {
    const versions = byVersion.get(streamId);
    const rows: OutboxRow[] = [];
    let version = floor;
    for (let row = versions?.get(version); row !== undefined; row = versions?.get(version)) {
      if (row) rows.push(row);
      version += 1;
    }
    // With no held row at the floor, version stays the floor and every row from it is read.
    readFrom.set(streamId, { version, rows });
  }
  const fast = [...touched].filter((streamId) => floors.has(streamId));
  await refreshDelivery(
    db,
    [...touched].filter((streamId) => !floors.has(streamId)),
  );
  if (fast.length === 0) return;
  const deliveries = await db.deliveries.bulkGet(fast);
  // A delivery row's version is its stream's highest: when the held rows reach it, nothing above them is
  // left to read (a drain takes whole streams, so this is the usual case and the refresh reads no outbox
  // row). The row also keeps the discard facts, so the stream's snapshot is never read.
  const above = fast.map((streamId, index) => {
    const from = readFrom.get(streamId)?.version ?? minKey;
    const top = deliveries[index]?.version;
    return typeof from === 'number' && top !== undefined && from > top ? null : from;
  });
  const missing = fast.filter((_, index) => deliveries[index] === undefined);
  // `all` keeps Dexie's transaction zone, as in projections.ts.
  const [rows, streams] = await all([
    all(
      fast.map((streamId, index) => {
        const from = above[index];
        return from === null || from === undefined
          ? []
          : db.outbox
              .where('[streamId+version]')
              .between([streamId, from], [streamId, maxKey], true, true)
              .toArray();
      }),
    ),
    missing.length > 0 ? db.streams.bulkGet(missing) : [],
  ]);
  const changed: DeliveryRow[] = [];
  for (const [index, streamId] of fast.entries()) {
    const before = deliveries[index];
    const stream = streams[missing.indexOf(streamId)];
    const facts = before ?? {
      version: stream?.version ?? 0,
      discarded:
        stream?.discardedFromVersion === undefined
          ? null
          : { fromVersion: stream.discardedFromVersion, reason: stream.discardedReason ?? null },
    };
    const delivery = deliveryOf(
      streamId,
      [...(readFrom.get(streamId)?.rows ?? []), ...(rows[index] ?? [])],
      facts,
    );
    if (!sameDelivery(before, delivery)) changed.push(delivery);
  }
  if (changed.length > 0) await db.deliveries.bulkPut(changed);
}

/** The apply's work, inside the caller's transaction over syncTables; adds the streams it changed to `touched`. */
async function applyWithin(
  db: SyncTables,
  types: StreamTypes,
  options: ApplyOptions,
  touched: Set<string>,
  held: Held,
): Promise<ApplyOutcome> {
  const { now, policy } = options;
  const allDelivered =
    options.entries.length > 0 &&
    options.verdicts.length === options.entries.length &&
    options.verdicts.every((verdict) => verdict.kind === 'delivered');
  if (allDelivered) {
    return applyDeliveries(db, types, options, touched, held);
  }
  const positions = options.entries.map((entry) => entry.row.position).sort((a, b) => a - b);
  const [rows, lease, meta] = await Promise.all([
    readByPosition<OutboxRow>(
      positions,
      (from, to) => db.outbox.where('position').between(from, to, true, true).toArray(),
      () => db.outbox.bulkGet(options.entries.map((entry) => entry.row.eventId)),
    ),
    db.leases.get(options.batchId),
    readSyncMeta(db),
  ]);
  // Still ours: nobody deleted the lease as expired and took the rows since the claim.
  const own = lease?.ownerId === options.ownerId;
  const byId = new Map(rows.map((row) => [row.eventId, row] as const));
  const current = options.entries.map((entry) => byId.get(entry.row.eventId));
  for (const row of rows) held.keep(row);
  const updates: OutboxRow[] = [];
  const deliveredRows: OutboxRow[] = [];
  let dead = 0;
  let retrying = 0;
  let nextAttemptAt: number | null = null;
  // One jitter draw per answer, from the most-tried entry (counting this send): entries that failed together
  // wait together, so a lane's head and its successors become due at the same moment.
  let drawn: number | null = null;
  const batchBackoff = () => {
    drawn ??= backoffDelay(
      Math.max(...options.entries.map((entry) => entry.row.attempts)) + 1,
      policy,
      options.random,
    );
    return drawn;
  };
  for (const [index, row] of current.entries()) {
    const verdict = options.verdicts[index];
    if (!row || !verdict) continue;
    if (verdict.kind === 'delivered') {
      deliveredRows.push(row);
      touched.add(row.streamId);
      continue;
    }
    if (!own || row.status !== 'pending') continue;
    // The lease's deletion below is what returns the row; it changes the order's sync state either way.
    touched.add(row.streamId);
    if (verdict.kind === 'release') continue;
    // Attempts are counted when an answer says the send failed, not at the claim: a batch released (auth,
    // 413 split) or lost with its flusher was never answered about this entry.
    const tried: OutboxRow = { ...row, attempts: row.attempts + 1 };
    const final: Verdict = verdict.kind === 'retry' ? (exhausted(tried, policy, now) ?? verdict) : verdict;
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
  // The sync facts were read with the rows: written with the rest, not read and written in two more rounds.
  const facts: SyncMeta = {
    ...meta,
    ...options.meta,
    // The entries that failed wait for the gate: it is also when their lanes are next due (`retryAt`).
    ...(options.gate && nextAttemptAt !== null ? { nextAttemptAt, retryAt: nextAttemptAt } : {}),
  };
  await Promise.all([
    deliveredRows.length > 0 ? db.outbox.bulkDelete(deliveredRows.map((row) => row.eventId)) : undefined,
    updates.length > 0 ? db.outbox.bulkPut(updates) : undefined,
    own ? db.leases.delete(options.batchId) : undefined,
    db.meta.put({ key: SYNC_STATUS_KEY, value: facts }),
  ]);
  for (const row of deliveredRows) held.drop(row);
  for (const row of updates) held.keep(row);
  const stored = await storeServerEvents(db, types, options.serverEvents);
  return { delivered: deliveredRows.length, dead, retrying, nextAttemptAt, stored };
}

/**
 * The usual answer, every entry delivered: nothing depends on the rows as they stand, so none is read. The
 * rows and the batch's lease record are deleted by key (a row another flusher's late answer deleted first is
 * simply not there; `delivered` then counts it again, the only difference), in one round with the sync facts.
 */
async function applyDeliveries(
  db: SyncTables,
  types: StreamTypes,
  options: ApplyOptions,
  touched: Set<string>,
  held: Held,
): Promise<ApplyOutcome> {
  const rows = options.entries.map((entry) => entry.row);
  await Promise.all([
    db.outbox.bulkDelete(rows.map((row) => row.eventId)),
    db.leases.delete(options.batchId),
    patchSyncMeta(db, options.meta),
  ]);
  for (const row of rows) {
    held.drop(row);
    touched.add(row.streamId);
  }
  const stored = await storeServerEvents(db, types, options.serverEvents);
  return { delivered: rows.length, dead: 0, retrying: 0, nextAttemptAt: null, stored };
}

/**
 * Appends server events not stored yet (by eventId) and projects them into the read models. Call inside a
 * transaction over syncTables. Returns the events stored now, with their positions.
 */
export async function storeServerEvents(
  db: SyncTables,
  types: StreamTypes,
  events: readonly WireServerEvent[],
): Promise<StoredServerEvent[]> {
  if (events.length === 0) return [];
  const known = new Set(
    await db.events
      .where('eventId')
      .anyOf(events.map((event) => event.eventId))
      .keys(),
  );
  const fresh: StoredServerEvent[] = [];
  for (const event of events) {
    if (known.has(event.eventId)) continue;
    known.add(event.eventId);
    fresh.push({
      kind: 'server',
      eventId: event.eventId,
      streamId: event.streamId,
      serverSeq: event.serverSeq,
      schemaVersion: 1,
      occurredAt: event.occurredAt,
      type: event.type,
      data: event.data,
    });
  }
  if (fresh.length === 0) return [];
  const positions = await db.events.bulkAdd(fresh, { allKeys: true });
  const stored = fresh.map((event, index) => ({ ...event, position: Number(positions[index]) }));
  await projectEvents(db, types, stored);
  return stored;
}

/**
 * Applies one pull page and advances the cursor in the same transaction. The cursor moves only if nobody
 * else moved it since this pull read it, so two concurrent pulls never set it backwards.
 */
export async function applyPullPage(
  db: SyncDb,
  types: StreamTypes,
  since: string | null,
  cursor: string,
  events: readonly WireServerEvent[],
): Promise<{ stored: StoredServerEvent[]; cursorMoved: boolean }> {
  return db.transaction('rw', syncTables(types), async (db) => {
    const stored = await storeServerEvents(db, types, events);
    const row = await db.meta.get(PULL_CURSOR_KEY);
    const current = typeof row?.value === 'string' ? row.value : null;
    const cursorMoved = current === since;
    if (cursorMoved) await db.meta.put({ key: PULL_CURSOR_KEY, value: cursor });
    return { stored, cursorMoved };
  });
}
