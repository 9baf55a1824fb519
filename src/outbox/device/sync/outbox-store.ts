import type { WireClientEvent, WireServerEvent } from '../../protocol/messages';
import {
  all,
  minKey,
  type OutboxDatabase,
  type OutboxRecords,
  readModelTableNames,
} from '../../storage/outbox-database';
import type {
  DeliveryRow,
  LeaseRow,
  OutboxRow,
  StoredClientEvent,
  StoredEvent,
  StoredServerEvent,
} from '../../storage/rows';
import type { StreamTypes } from '../../stream-types';
import { deliveryOf, projectEvents, refreshDeliveryWithin, sameDelivery } from '../read-models/projections';
import { settleAnswer, type Verdict } from './answers';
import { LaneScan, laneBlocks, leaseExpiresAt, splitLeases } from './lanes';
import type { RetryPolicy } from './retry-policy';
import {
  PULL_CURSOR_KEY,
  patchSyncMetaWithin,
  readSyncMetaWithin,
  SYNC_STATUS_KEY,
  type SyncMeta,
} from './sync-meta';

/**
 * The sync engine's transactions: claim (pick a batch and write its lease record), apply (record the answer,
 * delete the lease, and claim the next batch in the same transaction) and store a pull page with its
 * cursor. The fetch happens between them, never inside one: IndexedDB commits a transaction that awaits
 * anything else. What they decide is decided by pure functions (`lanes.ts`, `answers.ts`, `packBatch`,
 * `deliveryOf`); this file reads and writes the records around those decisions.
 *
 * Rows are never rewritten to show they are in flight: the batch's lease record names them. A delivered row is
 * deleted in the transaction that records the answer; a row is rewritten only when its answer is a retry or a
 * dead letter (attempts are counted then, not at the claim).
 */

/**
 * Every table a claim or an apply may write: outbox rows, leases, server events and what they project to
 * (snapshots, delivery facts, every stream type's read models), sync meta. A claim alone needs no read model.
 */
// `archive`: a server event for an archived stream is not stored again (storeServerEventsWithin).
const CLAIM_TABLES = ['events', 'outbox', 'leases', 'streams', 'deliveries', 'meta', 'archive'];
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
 * are taken in position order under the lane rule (`lanes.ts`) and the batch is leased with one record.
 */
export function claimBatch(database: OutboxDatabase, options: ClaimOptions): Promise<Claim> {
  return database.transact('rw', CLAIM_TABLES, async (records) => {
    const touched = new Set<string>();
    const claim = await claimWithin(records, options, touched, new Held());
    await refreshDeliveryWithin(records, touched);
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
  records: OutboxRecords,
  options: ClaimOptions,
  touched: Set<string>,
  held: Held,
): Promise<Claim> {
  const { now, policy } = options;
  // Pages read with getAll, not a cursor: a cursor costs one IndexedDB round trip per row
  // (docs/performance.md). The first page is read in the same round as the leases and the dead rows: the rows
  // it returns do not depend on them, only which of them may go.
  const pageSize = Math.max(options.limit, 64);
  const readPage = (from: number | undefined, includeFrom: boolean) =>
    records.pendingRows(from, includeFrom, pageSize);
  const [leases, dead, firstPage, meta] = await Promise.all([
    records.leases(),
    records.rowsWithStatus('dead'),
    readPage(options.scanFrom, true),
    readSyncMetaWithin(records),
  ]);
  const { expired, live, leased } = splitLeases(leases, now, options.reclaimLeases === true);
  let liveRows: readonly (OutboxRow | undefined)[] = [];
  if (leases.length > 0) {
    // Only other flushers' leases (ours was deleted by the apply before this claim) or dead ones: rare, few.
    // Deleting an expired record returns its rows to the pool, no row is rewritten, and no delivery row
    // either: stored delivery facts do not count leases (`deliveryView`).
    [liveRows] = await Promise.all([
      live.length > 0 ? records.outboxRows(live.flatMap((lease) => lease.eventIds)) : [],
      expired.length > 0 ? records.deleteLeases(expired.map((lease) => lease.batchId)) : undefined,
    ]);
  }

  const lanes = new LaneScan(options, laneBlocks(liveRows, dead), leased);
  // Rows are visited in position order and the scan stops as soon as the batch is full.
  let page = firstPage;
  scan: for (;;) {
    for (const row of page) {
      if (lanes.full) break scan;
      lanes.visit(row);
    }
    const last = page.at(-1);
    if (!last || page.length < pageSize) break;
    page = await readPage(last.position, false);
  }

  // By primary key (the row's position): an anyOf on eventId walks a cursor, one IndexedDB round trip per
  // event (docs/performance.md). Candidates are in position order.
  const positions = lanes.candidates.map((row) => row.position);
  const stored = await readByPosition<StoredEvent>(
    positions,
    (from, to) => records.eventsBetween(from, to),
    () => records.eventsAt(positions),
  );
  const { entries, missing } = packBatch(lanes.candidates, stored, options.byteBudget);
  if (missing.length > 0) {
    // An outbox row whose event is gone cannot be sent or delivered: a dead letter, not a silent drop.
    await records.putOutboxRows(missing);
    for (const row of missing) {
      held.keep(row);
      touched.add(row.streamId);
    }
  }
  // Held, not touched: the lease changes no stored delivery row, but a refresh in the same transaction
  // (after an apply) need not read these rows again.
  for (const entry of entries) held.keep(entry.row);
  if (entries.length > 0) {
    const lease: LeaseRow = {
      batchId: options.batchId,
      ownerId: options.ownerId,
      until: now + policy.leaseMs,
      eventIds: entries.map((entry) => entry.row.eventId),
      streamIds: [...new Set(entries.map((entry) => entry.row.streamId))],
    };
    await records.addLease(lease);
  }
  if (entries.length === 0 && meta.retryAt !== lanes.earliestWaitingAt) {
    // The claim that ends a flush says when a lane it left waiting may go, for every context's schedule.
    await records.putMeta(SYNC_STATUS_KEY, { ...meta, retryAt: lanes.earliestWaitingAt });
  }
  let lowest = lanes.lowest;
  for (const row of dead) lowest = Math.min(lowest, row.position);
  if (lowest === Number.POSITIVE_INFINITY) {
    // No row is pending or dead: the next one is an event not written yet, after the last stored event. Read
    // from the event store, never from the outbox: an outbox drained empty is all deleted entries, and
    // reading its last position walks every tombstone back to the start (6.6 s after a 3,000-row drain).
    const last = await records.lastEventPosition();
    lowest = last !== undefined ? last + 1 : (options.scanFrom ?? 0);
  }
  return {
    batchId: options.batchId,
    entries,
    earliestWaitingAt: lanes.earliestWaitingAt,
    leaseExpiresAt: leaseExpiresAt(live, liveRows),
    scanFrom: lowest,
  };
}

/**
 * The batch from the rows the lane rule let go, in order, within the byte budget: the first entry always
 * goes, even oversized (the server's 413 turns it into a dead letter); a stream cut off once stays cut, so
 * its later versions never go without the earlier ones. A row whose event is missing becomes `missing`.
 */
export function packBatch(
  candidates: readonly OutboxRow[],
  events: readonly StoredEvent[],
  byteBudget: number,
): { entries: ClaimedEntry[]; missing: OutboxRow[] } {
  const eventsById = new Map(events.map((event) => [event.eventId, event] as const));
  const entries: ClaimedEntry[] = [];
  const missing: OutboxRow[] = [];
  const cut = new Set<string>();
  let bytes = 0;
  for (const row of candidates) {
    if (cut.has(row.streamId)) continue;
    const event = eventsById.get(row.eventId);
    if (event?.kind !== 'client') {
      missing.push({
        ...row,
        status: 'dead',
        deadCode: 'missing_event',
        lastError: 'The event behind this entry is missing from the local store',
      });
      cut.add(row.streamId);
      continue;
    }
    const wire = toWireEvent(event);
    const size = jsonBytes(wire) + 1;
    if (entries.length > 0 && bytes + size > byteBudget) {
      cut.add(row.streamId);
      continue;
    }
    bytes += size;
    entries.push({ row, event: wire, bytes: size });
  }
  return { entries, missing };
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
  database: OutboxDatabase,
  types: StreamTypes,
  options: ApplyOptions,
): Promise<ApplyOutcome> {
  return (await applyAndClaimWith(database, types, options, null)).applied;
}

/**
 * `applyAnswer`, then, when `next` is given, the next claim in the same transaction: one durable commit per
 * batch instead of two, and one sync-state refresh for the streams both touched. Atomic as a whole, so a
 * crash leaves the answer and the next lease both written or neither (the rows stay leased to nobody and
 * are claimed again; a resend is answered `duplicate`).
 */
export function applyAndClaim(
  database: OutboxDatabase,
  options: ApplyOptions,
  next: ClaimOptions | null,
): Promise<AnswerApplied> {
  return applyAndClaimWith(database, database.streamTypes, options, next);
}

/** What `applyAndClaim` did: the answer's outcome, and the next claim when one was asked for. */
export interface AnswerApplied {
  readonly applied: ApplyOutcome;
  readonly claim: Claim | null;
}

function applyAndClaimWith(
  database: OutboxDatabase,
  types: StreamTypes,
  options: ApplyOptions,
  next: ClaimOptions | null,
): Promise<AnswerApplied> {
  return database.transact('rw', syncTables(types), async (records) => {
    const touched = new Set<string>();
    const held = new Held();
    const applied = await applyWithin(records, types, options, touched, held);
    const claim = next ? await claimWithin(records, next, touched, held) : null;
    const floors = laneFloors([...options.entries, ...(claim?.entries ?? [])]);
    await refreshDeliveryAbove(records, touched, floors, held);
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
  records: OutboxRecords,
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
  await refreshDeliveryWithin(
    records,
    [...touched].filter((streamId) => !floors.has(streamId)),
  );
  if (fast.length === 0) return;
  const deliveries = await records.deliveries(fast);
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
        return from === null || from === undefined ? [] : records.streamRowsFrom(streamId, from);
      }),
    ),
    missing.length > 0 ? records.streams(missing) : [],
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
  if (changed.length > 0) await records.putDeliveries(changed);
}

/** The apply's work, inside the caller's transaction over syncTables; adds the streams it changed to `touched`. */
async function applyWithin(
  records: OutboxRecords,
  types: StreamTypes,
  options: ApplyOptions,
  touched: Set<string>,
  held: Held,
): Promise<ApplyOutcome> {
  const allDelivered =
    options.entries.length > 0 &&
    options.verdicts.length === options.entries.length &&
    options.verdicts.every((verdict) => verdict.kind === 'delivered');
  if (allDelivered) {
    return applyDeliveries(records, types, options, touched, held);
  }
  const positions = options.entries.map((entry) => entry.row.position).sort((a, b) => a - b);
  const [rows, lease, meta] = await Promise.all([
    readByPosition<OutboxRow>(
      positions,
      (from, to) => records.outboxRowsBetween(from, to),
      () => records.outboxRows(options.entries.map((entry) => entry.row.eventId)),
    ),
    records.lease(options.batchId),
    readSyncMetaWithin(records),
  ]);
  // Still ours: nobody deleted the lease as expired and took the rows since the claim.
  const own = lease?.ownerId === options.ownerId;
  const byId = new Map(rows.map((row) => [row.eventId, row] as const));
  for (const row of rows) held.keep(row);
  const settled = settleAnswer(
    options.entries.map((entry) => byId.get(entry.row.eventId)),
    options.verdicts,
    {
      now: options.now,
      policy: options.policy,
      random: options.random,
      own,
      claimedAttempts: options.entries.map((entry) => entry.row.attempts),
    },
  );
  for (const streamId of settled.touched) touched.add(streamId);
  const { nextAttemptAt } = settled;
  // The sync facts were read with the rows: written with the rest, not read and written in two more rounds.
  const facts: SyncMeta = {
    ...meta,
    ...options.meta,
    // The entries that failed wait for the gate: it is also when their lanes are next due (`retryAt`).
    ...(options.gate && nextAttemptAt !== null ? { nextAttemptAt, retryAt: nextAttemptAt } : {}),
  };
  await Promise.all([
    settled.delivered.length > 0
      ? records.deleteOutboxRows(settled.delivered.map((row) => row.eventId))
      : undefined,
    settled.updates.length > 0 ? records.putOutboxRows(settled.updates) : undefined,
    own ? records.deleteLeases([options.batchId]) : undefined,
    records.putMeta(SYNC_STATUS_KEY, facts),
  ]);
  for (const row of settled.delivered) held.drop(row);
  for (const row of settled.updates) held.keep(row);
  const stored = await storeServerEventsWithin(records, types, options.serverEvents);
  return {
    delivered: settled.delivered.length,
    dead: settled.dead,
    retrying: settled.retrying,
    nextAttemptAt,
    stored,
  };
}

/**
 * The usual answer, every entry delivered: nothing depends on the rows as they stand, so none is read. The
 * rows and the batch's lease record are deleted by key (a row another flusher's late answer deleted first is
 * simply not there; `delivered` then counts it again, the only difference), in one round with the sync facts.
 */
async function applyDeliveries(
  records: OutboxRecords,
  types: StreamTypes,
  options: ApplyOptions,
  touched: Set<string>,
  held: Held,
): Promise<ApplyOutcome> {
  const rows = options.entries.map((entry) => entry.row);
  await Promise.all([
    records.deleteOutboxRows(rows.map((row) => row.eventId)),
    records.deleteLeases([options.batchId]),
    patchSyncMetaWithin(records, options.meta),
  ]);
  for (const row of rows) {
    held.drop(row);
    touched.add(row.streamId);
  }
  const stored = await storeServerEventsWithin(records, types, options.serverEvents);
  return { delivered: rows.length, dead: 0, retrying: 0, nextAttemptAt: null, stored };
}

/**
 * Appends server events not stored yet (by eventId) and projects them into the read models. Call inside a
 * transaction over syncTables. Returns the events stored now, with their positions.
 *
 * An event of an archived stream is not stored: the server holds it, and the stream left this device with
 * every event it had (a pull from the start, under a fresh clientId, brings its decisions again). Stored
 * alone it would make a stream of a decision without its order.
 */
export async function storeServerEventsWithin(
  records: OutboxRecords,
  types: StreamTypes,
  events: readonly WireServerEvent[],
): Promise<StoredServerEvent[]> {
  if (events.length === 0) return [];
  const streamIds = [...new Set(events.map((event) => event.streamId))];
  const [storedIds, tombstones] = await all([
    records.storedEventIds(events.map((event) => event.eventId)),
    records.archivedStreams(streamIds),
  ]);
  const known = new Set(storedIds);
  const archived = new Set(streamIds.filter((_, index) => tombstones[index] !== undefined));
  const fresh: StoredServerEvent[] = [];
  for (const event of events) {
    if (known.has(event.eventId) || archived.has(event.streamId)) continue;
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
  const positions = await records.appendEvents(fresh);
  const stored = fresh.map((event, index) => ({ ...event, position: positions[index] }));
  await projectEvents(records, types, stored);
  return stored;
}

/**
 * `storeServerEventsWithin` in a transaction of its own, or in the caller's Dexie transaction when one spans
 * syncTables (Dexie then reuses it): for tools and tests that hand the store server events.
 */
export function storeServerEvents(
  database: OutboxDatabase,
  types: StreamTypes,
  events: readonly WireServerEvent[],
): Promise<StoredServerEvent[]> {
  return database.transact('rw', syncTables(types), (records) =>
    storeServerEventsWithin(records, types, events),
  );
}

/** One page of a pull: what it asked from (`since`), the cursor it got, and the server events on it. */
export interface PullPage {
  readonly since: string | null;
  readonly cursor: string;
  readonly events: readonly WireServerEvent[];
  /** Where this clientId's cursor is kept (`pullCursorKey`); the device clientId's by default. */
  readonly cursorKey?: string;
}

export interface PullPageStored {
  /** The events stored now (not before), with their positions, to publish once committed. */
  readonly stored: readonly StoredServerEvent[];
  /** False when another context moved the cursor since `since` was read: it is ahead, let it finish. */
  readonly cursorMoved: boolean;
}

/**
 * Applies one pull page and advances the cursor in the same transaction. The cursor moves only if nobody
 * else moved it since this pull read it, so two concurrent pulls never set it backwards.
 */
export function storePullPage(database: OutboxDatabase, page: PullPage): Promise<PullPageStored> {
  const types = database.streamTypes;
  return database.transact('rw', syncTables(types), async (records) => {
    const stored = await storeServerEventsWithin(records, types, page.events);
    const key = page.cursorKey ?? PULL_CURSOR_KEY;
    const current = await records.meta(key);
    const cursorMoved = (typeof current === 'string' ? current : null) === page.since;
    if (cursorMoved) await records.putMeta(key, page.cursor);
    return { stored, cursorMoved };
  });
}
