import { all, type OutboxDatabase, type OutboxRecords } from '../../storage/outbox-database';
import type {
  BlockedFacts,
  DeliveryRow,
  OutboxRow,
  StoredClientEvent,
  StoredEvent,
  StoredServerEvent,
  StreamRow,
} from '../../storage/rows';
import type {
  AnyStreamType,
  CounterIncrement,
  CounterRow,
  ReadModelRow,
  ReadModelRows,
} from '../../stream-type';
import type { StreamTypes } from '../../stream-types';

/**
 * Read models are pure folds of the event store and the outbox. Everything here derives from stored events
 * and outbox rows only (never from the clock at projection time), so `rebuildReadModels()` reproduces the
 * inline tables exactly. The core folds each stream's state with its stream type's `evolve` and hands the
 * change to the type's read models; it never names their tables.
 */

/** A stream's rows as a run of its events leaves them: the snapshot, and each read-model table's row. */
export interface StreamProjection {
  /** The aggregate's id: the key of its read-model rows. */
  readonly id: string;
  readonly stream: StreamRow;
  /** By table: the row to put, null to delete it, absent to leave it as it is. */
  readonly rows: ReadModelRows;
  /** What the run's steps add to counter rows, step by step. */
  readonly increments: readonly CounterIncrement[];
}

/** Folds the events a stream keeps on this device: client ones below a discard, and every server one. */
function foldKept(
  type: AnyStreamType,
  events: readonly StoredEvent[],
  discardedFromVersion: number | undefined,
): unknown {
  let state: unknown = type.initialState;
  for (const event of events) {
    if (event.kind === 'local' || event.kind === 'unread') continue;
    if (
      event.kind === 'client' &&
      discardedFromVersion !== undefined &&
      event.version >= discardedFromVersion
    ) {
      continue;
    }
    state = type.evolve(state, event);
  }
  return state;
}

/** The stream's stored events up to `position` (all of them when unknown), in the order they were stored. */
function eventsUpTo(events: readonly StoredEvent[], position: number | undefined): StoredEvent[] {
  return events
    .filter((event) => position === undefined || (event.position ?? 0) <= position)
    .sort((a, b) => (a.position ?? 0) - (b.position ?? 0));
}

/**
 * What `events` (newly stored, in position order) do to one stream: its next snapshot and the change its
 * read models fold; undefined when there is none (every event was folded before, `foldedPosition`).
 * Synchronous on purpose: called once per stream inside the caller's transaction, and Dexie keeps its
 * transaction zone across only a bounded number of native awaits (docs/performance.md). `stored` holds the
 * stream's stored events, prefetched when a local record (a discard) makes it fold them again.
 */
export function projectStream(
  type: AnyStreamType,
  id: string,
  streamId: string,
  current: StreamRow | undefined,
  events: readonly StoredEvent[],
  stored: readonly StoredEvent[] = [],
): StreamProjection | undefined {
  const foldedBefore = current?.foldedPosition ?? 0;
  const fresh = events.filter((event) => event.position === undefined || event.position > foldedBefore);
  if (fresh.length === 0) return undefined;
  let stream: StreamRow = current ?? { streamId, version: 0, state: type.initialState };
  let state = stream.state;
  let createdAt = stream.createdAt;
  let updatedAt = stream.updatedAt;
  const rows: Record<string, ReadModelRow | null> = {};
  const increments: CounterIncrement[] = [];
  let foldedPosition = current?.foldedPosition;
  let unread = current?.unread ?? 0;
  for (const event of fresh) {
    foldedPosition = event.position ?? foldedPosition;
    // Neither read here nor a change of the stream's facts: what this build cannot read is counted (the
    // stream then takes no command), and a refusal record is the timeline's alone.
    if (event.kind === 'unread') {
      unread += 1;
      // Its version stays taken: the stream's next is after it.
      if (event.version !== undefined)
        stream = { ...stream, version: Math.max(stream.version, event.version) };
      continue;
    }
    if (event.kind === 'local' && event.type === 'CommandRefused') continue;
    const before = state;
    updatedAt = event.occurredAt;
    createdAt ??= event.occurredAt;
    let folded: StoredClientEvent | StoredServerEvent | null = null;
    if (event.kind === 'client') {
      stream = { ...stream, version: Math.max(stream.version, event.version) };
      const from = stream.discardedFromVersion;
      if (from === undefined || event.version < from) state = type.evolve(state, event);
      folded = event;
    } else if (event.kind === 'server') {
      state = type.evolve(state, event);
      folded = event;
    } else {
      const from = stream.discardedFromVersion;
      if (from === undefined || event.data.version < from) {
        stream = { ...stream, discardedFromVersion: event.data.version, discardedReason: event.data.reason };
        // Versions already folded may now be discarded: fold again from the stored events up to this record.
        state = foldKept(type, eventsUpTo(stored, event.position), event.data.version);
      }
    }
    const change = {
      streamId,
      id,
      before,
      after: state,
      event: folded,
      version: stream.version,
      createdAt: createdAt ?? '',
      updatedAt: updatedAt ?? '',
    };
    const step = type.readModels.rows(change);
    for (const [table, row] of Object.entries(step)) if (row !== undefined) rows[table] = row;
    const counted = type.readModels.counters?.(change);
    if (counted) increments.push(...counted);
  }
  stream = {
    ...stream,
    state,
    ...(createdAt === undefined ? {} : { createdAt }),
    ...(updatedAt === undefined ? {} : { updatedAt }),
    ...(foldedPosition === undefined ? {} : { foldedPosition }),
    ...(unread > 0 ? { unread } : {}),
  };
  return { id, stream, rows, increments };
}

/**
 * Delivery of one stream as stored, from its outbox rows (delivered rows are gone) and its snapshot (a
 * discard): any dead row holds it (`attention`, with the first dead entry's facts), else a retried row makes
 * it `retrying` until the earliest next attempt, else pending rows keep it `local`, else rows waiting for
 * another user's sign-in make it `parked` (for who wrote the first of them), else it is delivered.
 * Leases are not counted: a claim or an expired lease then changes nothing stored (`deliveryView`).
 */
export function deliveryOf(
  streamId: string,
  rows: readonly OutboxRow[],
  stream: Pick<DeliveryRow, 'version' | 'discarded'>,
): DeliveryRow {
  let dead: OutboxRow | undefined;
  let parked: OutboxRow | undefined;
  let retryAt: number | null = null;
  let pending = false;
  for (const row of rows) {
    if (row.status === 'dead') {
      if (!dead || row.version < dead.version) dead = row;
    } else if (row.status === 'parked') {
      if (!parked || row.version < parked.version) parked = row;
    } else if (row.attempts > 0) {
      retryAt = Math.min(retryAt ?? row.nextAttemptAt, row.nextAttemptAt);
    } else {
      pending = true;
    }
  }
  const { version, discarded } = stream;
  if (dead) {
    const first = dead;
    const blocked: BlockedFacts = {
      eventId: first.eventId,
      type: first.type,
      version: first.version,
      deadCode: first.deadCode,
      error: first.lastError,
      waiting: rows.some((row) => row.version > first.version),
    };
    return { streamId, version, state: 'attention', retryAt: null, blocked, discarded };
  }
  if (parked && retryAt === null && !pending) {
    const waitingFor = parked.writtenBy ?? null;
    return {
      streamId,
      version,
      state: 'parked',
      retryAt: null,
      blocked: null,
      discarded,
      ...(waitingFor === null ? {} : { waitingFor }),
    };
  }
  return {
    streamId,
    version,
    state: retryAt !== null ? 'retrying' : pending ? 'local' : 'delivered',
    retryAt,
    blocked: null,
    discarded,
  };
}

/** What a stream's snapshot tells its delivery row: how far it goes, and a discard on this device. */
export const streamFacts = (stream: StreamRow | undefined): Pick<DeliveryRow, 'version' | 'discarded'> => ({
  version: stream?.version ?? 0,
  discarded:
    stream?.discardedFromVersion === undefined
      ? null
      : { fromVersion: stream.discardedFromVersion, reason: stream.discardedReason ?? null },
});

/** Whether two delivery rows say the same, so a refresh writes only what changed. */
export function sameDelivery(a: DeliveryRow | undefined, b: DeliveryRow): boolean {
  return a !== undefined && JSON.stringify(a) === JSON.stringify(b);
}

function groupByStream(events: readonly StoredEvent[]): Map<string, StoredEvent[]> {
  const byStream = new Map<string, StoredEvent[]>();
  for (const event of events) {
    const group = byStream.get(event.streamId);
    if (group) group.push(event);
    else byStream.set(event.streamId, [event]);
  }
  return byStream;
}

/** Each stream's outbox rows. */
export async function outboxRowsByStream(
  records: OutboxRecords,
  streamIds: readonly string[],
): Promise<Map<string, OutboxRow[]>> {
  // One getAll per stream, not anyOf: Dexie walks anyOf with a cursor, one IndexedDB round trip per row, and
  // this runs in every command's transaction (docs/performance.md).
  // `all`, not the native one: on Dexie it keeps the transaction zone however many streams there are.
  const rows = await all(streamIds.map((streamId) => records.streamRows(streamId)));
  const byStream = new Map<string, OutboxRow[]>();
  for (const [index, streamId] of streamIds.entries()) byStream.set(streamId, rows[index] ?? []);
  return byStream;
}

/** Increments summed: by table, by row, by field. */
export function sumIncrements(
  increments: Iterable<CounterIncrement>,
): Map<string, Map<string, Map<string, number>>> {
  const sums = new Map<string, Map<string, Map<string, number>>>();
  for (const { table, id, add } of increments) {
    const byId = sums.get(table) ?? new Map<string, Map<string, number>>();
    sums.set(table, byId);
    const fields = byId.get(id) ?? new Map<string, number>();
    byId.set(id, fields);
    for (const [field, amount] of Object.entries(add)) fields.set(field, (fields.get(field) ?? 0) + amount);
  }
  return sums;
}

/** A counter row with the sums added; a row or field not stored yet starts at 0. */
function addTo(stored: ReadModelRow | undefined, id: string, sums: ReadonlyMap<string, number>): CounterRow {
  const row: Record<string, number | string> = { ...(stored as CounterRow | undefined), id };
  for (const [field, amount] of sums) {
    const current = row[field];
    row[field] = (typeof current === 'number' ? current : 0) + amount;
  }
  return row as CounterRow;
}

/**
 * Adds increments to the counter rows they name: one read of those rows and one write, whatever the history
 * holds. Every row named is written, even when its sums come to 0, so a rebuild (which may sum a +1 and a -1
 * in one page) leaves the same rows as the transactions that added them one by one.
 */
export async function addToCounters(
  records: OutboxRecords,
  increments: Iterable<CounterIncrement>,
): Promise<void> {
  const sums = [...sumIncrements(increments)];
  if (sums.length === 0) return;
  const stored = await all(sums.map(([table, byId]) => records.readModelRows(table, [...byId.keys()])));
  await all(
    sums.map(([table, byId], index) =>
      records.putReadModelRows(
        table,
        [...byId].map(([id, fields], row) => addTo(stored[index]?.[row], id, fields)),
      ),
    ),
  );
}

/** The writes of a batch of projections: snapshots, read-model rows by table, counters and delivery rows. */
export async function writeProjections(
  records: OutboxRecords,
  projections: readonly StreamProjection[],
  deliveries: readonly DeliveryRow[],
): Promise<void> {
  const puts = new Map<string, ReadModelRow[]>();
  const deletes = new Map<string, string[]>();
  for (const { rows, id } of projections) {
    for (const [table, row] of Object.entries(rows)) {
      if (row === undefined) continue;
      if (row === null) deletes.set(table, [...(deletes.get(table) ?? []), id]);
      else puts.set(table, [...(puts.get(table) ?? []), row]);
    }
  }
  await all([
    projections.length > 0
      ? records.putStreams(projections.map((projection) => projection.stream))
      : undefined,
    deliveries.length > 0 ? records.putDeliveries(deliveries) : undefined,
    ...[...puts].map(([table, rows]) => records.putReadModelRows(table, rows)),
    ...[...deletes].map(([table, ids]) => records.deleteReadModelRows(table, ids)),
    addToCounters(
      records,
      projections.flatMap((projection) => projection.increments),
    ),
  ]);
}

export interface ProjectOptions {
  /**
   * Streams the caller knows this device held nothing of before (no snapshot, so no delivery or outbox row
   * either): a new device's history is almost all of them, and reading their rows would find nothing.
   */
  readonly newStreams?: ReadonlySet<string>;
}

/**
 * Folds stored events (client, server and local records) into the streams' snapshots, their read models and
 * their delivery facts. Streams of a type this app does not have are skipped (their events stay stored).
 *
 * Contract: call inside an open rw transaction over the core tables and every read-model table, after the
 * events were added to `events` (with their positions), in position order, each event once.
 */
export async function projectEvents(
  records: OutboxRecords,
  types: StreamTypes,
  events: readonly StoredEvent[],
  options: ProjectOptions = {},
): Promise<StreamProjection[]> {
  if (events.length === 0) return [];
  const byStream = groupByStream(events);
  const streamIds = [...byStream.keys()].filter((streamId) => types.parse(streamId) !== null);
  const fresh = options.newStreams;
  // A stream new to this device has no snapshot, delivery row or outbox row: nothing of it to read.
  const known = fresh ? streamIds.filter((streamId) => !fresh.has(streamId)) : streamIds;
  const [knownStreams, knownDeliveries, outbox] = await all([
    records.streams(known),
    records.deliveries(known),
    outboxRowsByStream(records, known),
  ]);
  const streamOf = new Map(known.map((streamId, index) => [streamId, knownStreams[index]] as const));
  const deliveryOfStream = new Map(
    known.map((streamId, index) => [streamId, knownDeliveries[index]] as const),
  );
  const streams = streamIds.map((streamId) => streamOf.get(streamId));
  const deliveries = streamIds.map((streamId) => deliveryOfStream.get(streamId));

  // A local record (a discard) folds the stream again from its stored events: fetch those first, with
  // IndexedDB requests, so the projection loop below awaits nothing.
  const stored = new Map<string, StoredEvent[]>();
  for (const streamId of streamIds) {
    if (
      byStream.get(streamId)?.some((event) => event.kind === 'local' && event.type === 'DeliveryDiscarded')
    ) {
      stored.set(streamId, await records.streamEvents(streamId));
    }
  }

  const projections: StreamProjection[] = [];
  const changedDeliveries: DeliveryRow[] = [];
  for (const [index, streamId] of streamIds.entries()) {
    const parsed = types.parse(streamId);
    if (!parsed) continue;
    const projection = projectStream(
      parsed.type,
      parsed.id,
      streamId,
      streams[index],
      byStream.get(streamId) ?? [],
      stored.get(streamId) ?? [],
    );
    if (!projection) continue;
    projections.push(projection);
    const delivery = deliveryOf(streamId, outbox.get(streamId) ?? [], streamFacts(projection.stream));
    if (!sameDelivery(deliveries[index], delivery)) changedDeliveries.push(delivery);
  }
  await writeProjections(records, projections, changedDeliveries);
  return projections;
}

/**
 * Recomputes each stream's delivery facts from its outbox rows and snapshot, writing only those that
 * changed. Call inside a transaction over outbox, streams and deliveries whenever outbox rows change; a
 * lease alone changes nothing stored.
 */
export async function refreshDeliveryWithin(
  records: OutboxRecords,
  streamIds: Iterable<string>,
): Promise<void> {
  const ids = [...new Set(streamIds)];
  if (ids.length === 0) return;
  const [streams, deliveries, outbox] = await all([
    records.streams(ids),
    records.deliveries(ids),
    outboxRowsByStream(records, ids),
  ]);
  const changed: DeliveryRow[] = [];
  for (const [index, streamId] of ids.entries()) {
    const delivery = deliveryOf(streamId, outbox.get(streamId) ?? [], streamFacts(streams[index]));
    if (!sameDelivery(deliveries[index], delivery)) changed.push(delivery);
  }
  if (changed.length > 0) await records.putDeliveries(changed);
}

/** The tables `refreshDeliveryWithin` reads and writes. */
export const DELIVERY_TABLES = ['outbox', 'streams', 'deliveries'] as const;

/**
 * `refreshDeliveryWithin` in a transaction of its own, or in the caller's Dexie transaction when one spans
 * these tables (Dexie then reuses it): for tools and tests that change outbox rows by hand.
 */
export function refreshDelivery(database: OutboxDatabase, streamIds: Iterable<string>): Promise<void> {
  return database.transact('rw', DELIVERY_TABLES, (records) => refreshDeliveryWithin(records, streamIds));
}
