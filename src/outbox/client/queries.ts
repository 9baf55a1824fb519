import Dexie, { liveQuery } from 'dexie';
import { defer, filter, from, map, merge, Observable } from 'rxjs';
import type { Clock } from '../ids';
import { type CommittedStream, onCommitted } from './committed-views';
import type { DeliveryRow, LeaseRow, OutboxRow, OutpostDb, StoredEvent, StreamRow } from './db';
import {
  type DeliveryView,
  deliveryView,
  leasedEventIds,
  leasedStreamIds,
  liveLeases,
  nextLeaseChange,
  type OutboxEntry,
  type OutboxEntryStatus,
  outboxEntriesView,
} from './outbox-view';
import { overTime } from './over-time';

/**
 * Live views for the UI that every stream type shares: one stream with its read-model rows, delivery,
 * outbox entries and events, and the outbox by delivery state. Each re-emits whenever a committed
 * transaction touches what it read (Dexie liveQuery), in this tab or another, and again when a lease over it
 * passes (`overTime`).
 */

export interface StreamView {
  readonly streamId: string;
  /** The stream's snapshot; undefined while the stream does not exist. */
  readonly stream: StreamRow | undefined;
  /** Its stream type's read-model rows for this stream, by table. */
  readonly rows: Readonly<Record<string, unknown>>;
  readonly delivery: DeliveryView;
  /**
   * The stream's undelivered outbox entries, so each event can show its delivery state (join by eventId; a
   * client event with no entry is delivered, `deliveryStateOf`).
   */
  readonly outbox: readonly OutboxEntry[];
  /** Every stored event of the stream, in the order they were stored: what its timeline shows. */
  readonly events: readonly StoredEvent[];
}

interface StreamRead {
  readonly stream: StreamRow | undefined;
  readonly rows: Readonly<Record<string, unknown>>;
  readonly delivery: DeliveryRow | undefined;
  readonly outbox: readonly OutboxRow[];
  readonly events: readonly StoredEvent[];
  readonly leases: readonly LeaseRow[];
}

/** The stream as views show it at `now`: only a live lease makes it, or an entry, "sending". */
function streamAt(streamId: string, read: StreamRead, now: number): StreamView {
  const live = liveLeases(read.leases, now);
  return {
    streamId,
    stream: read.stream,
    rows: read.rows,
    delivery: deliveryView(streamId, read.delivery, live),
    outbox: outboxEntriesView(read.outbox, live),
    events: read.events,
  };
}

/**
 * One stream, live; null while it does not exist.
 *
 * Two sources: the live query (any writer, any context) and the rows this connection's command pipeline
 * announces as it commits (`committed-views.ts`), so the person sees their own command's result without
 * waiting for a second read. A read that started before such a commit and lands after it is dropped (a
 * stream's version never goes back), and the announced rows take the leases from the latest read.
 */
export function liveStream(db: OutpostDb, streamId: string, clock: Clock): Observable<StreamView | null> {
  const parsed = db.streamTypes.parse(streamId);
  const tables = parsed ? Object.keys(parsed.type.readModels.tables) : [];
  return defer(() => {
    let last: StreamRead | null = null;
    let committedVersion = 0;
    const reads = from(
      liveQuery(async (): Promise<StreamRead> => {
        const [stream, delivery, outbox, events, leases, ...rows] = await Promise.all([
          db.streams.get(streamId),
          db.deliveries.get(streamId),
          db.outbox.where('streamId').equals(streamId).sortBy('version'),
          db.events.where('streamId').equals(streamId).sortBy('position'),
          db.leases.toArray(),
          ...tables.map((table) => db.table(table).get(parsed?.id ?? '')),
        ]);
        const byTable = Object.fromEntries(tables.map((table, index) => [table, rows[index]]));
        return { stream, rows: byTable, delivery, outbox, events, leases };
      }),
    ).pipe(
      filter((read) => (read.stream?.version ?? 0) >= committedVersion),
      map((read): StreamRead => {
        last = read;
        return read;
      }),
    );
    // A subscriber that throws is reported by rxjs on its own, asynchronously: the writer is never hurt.
    const commits = new Observable<CommittedStream>((subscriber) =>
      onCommitted(db, (committed) => {
        if (committed.streamId === streamId) subscriber.next(committed);
      }),
    );
    const committed = commits.pipe(
      // Until the first read landed there is nothing to lay the commit over: that read shows it.
      filter(() => last !== null),
      map((commit): StreamRead => {
        committedVersion = Math.max(committedVersion, commit.stream.version);
        const known = new Set(last?.events.map((event) => event.eventId));
        const rows = { ...last?.rows };
        for (const [table, row] of Object.entries(commit.rows)) rows[table] = row ?? undefined;
        return {
          stream: commit.stream,
          rows,
          delivery: commit.delivery,
          outbox: [...commit.outbox].sort((a, b) => a.version - b.version),
          events: [...(last?.events ?? []), ...commit.events.filter((event) => !known.has(event.eventId))],
          leases: last?.leases ?? [],
        };
      }),
    );
    return merge(reads, committed).pipe(
      overTime(
        (read, now) => (read.stream ? streamAt(streamId, read, now) : null),
        (read, now) => nextLeaseChange(read.leases, now),
        () => clock.now(),
      ),
    );
  });
}

/** Delivery facts of many streams at once, with the leases over them, for a list's window. */
export async function readDeliveries(
  db: OutpostDb,
  streamIds: readonly string[],
): Promise<{
  readonly deliveries: readonly (DeliveryRow | undefined)[];
  readonly leases: readonly LeaseRow[];
}> {
  const [deliveries, leases] = await Promise.all([
    db.deliveries.bulkGet([...streamIds]),
    db.leases.toArray(),
  ]);
  return { deliveries, leases };
}

/** Many streams' deliveries as views show them at `now`, and when a lease over one of them passes. */
export interface DeliveryViews {
  /** One per stream id asked for, in the same order. */
  readonly deliveries: readonly DeliveryView[];
  /** When a list showing them must be read again (a lease passes); null when none is live. */
  readonly changesAt: number | null;
}

/**
 * The delivery of each stream of a list's window, with the live leases over them: every stream type's list
 * joins its rows to these the same way (the lease records are a handful, one getAll in the same read).
 */
export async function readDeliveryViews(
  db: OutpostDb,
  streamIds: readonly string[],
  now: number,
): Promise<DeliveryViews> {
  const { deliveries, leases } = await readDeliveries(db, streamIds);
  const leased = leasedStreamIds(liveLeases(leases, now));
  return {
    deliveries: streamIds.map((streamId, index) => deliveryView(streamId, deliveries[index], leased)),
    changesAt: nextLeaseChange(leases, now),
  };
}

const byStatus = (db: OutpostDb, status: OutboxRow['status']) =>
  db.outbox.where('[status+position]').between([status, Dexie.minKey], [status, Dexie.maxKey]);

export interface OutboxSection {
  /** Exact number of entries in this state. */
  readonly count: number;
  /** The first of them in sending order, at most the limit asked for. */
  readonly rows: readonly OutboxEntry[];
}

export type OutboxSections = Record<OutboxEntryStatus, OutboxSection> & {
  /** When a lease in this read passes and the sections must be read again (null: no live lease). */
  readonly changesAt: number | null;
};

/**
 * The outbox by delivery state for the inspector, each state counted exactly and listed up to `limit` rows,
 * without reading every pending row: in-flight rows are the leased ones (a batch or two), and the pending
 * section reads only as many rows past the first as there are leased ones.
 */
export async function readOutboxSections(db: OutpostDb, limit: number, now: number): Promise<OutboxSections> {
  const [leaseRows, deadCount, dead, pendingCount] = await Promise.all([
    db.leases.toArray(),
    byStatus(db, 'dead').count(),
    byStatus(db, 'dead').limit(limit).toArray(),
    byStatus(db, 'pending').count(),
  ]);
  const leases = liveLeases(leaseRows, now);
  const leased = leasedEventIds(leases);
  const [leasedRows, firstPending] = await Promise.all([
    db.outbox.bulkGet([...leased]),
    byStatus(db, 'pending')
      .limit(limit + leased.size)
      .toArray(),
  ]);
  const inflight = outboxEntriesView(
    leasedRows.filter((row): row is OutboxRow => row?.status === 'pending'),
    leased,
  ).sort((a, b) => a.position - b.position);
  return {
    changesAt: nextLeaseChange(leaseRows, now),
    dead: { count: deadCount, rows: dead },
    inflight: { count: inflight.length, rows: inflight.slice(0, limit) },
    pending: {
      count: pendingCount - inflight.length,
      rows: firstPending.filter((row) => !leased.has(row.eventId)).slice(0, limit),
    },
  };
}
