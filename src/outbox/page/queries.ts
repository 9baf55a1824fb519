import Dexie from 'dexie';
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
} from '../device/read-models/outbox-view';
import type { DeliveryRow, LeaseRow, OutboxRow } from '../storage/rows';
import type { OutpostDb } from './database';

/**
 * The reads every stream type's lists share: many streams' deliveries for a list's window, and the outbox by
 * delivery state for the inspector. Lists run them under a live query (`useLiveRead`), which reads again
 * when a committed transaction touches what they read and when a lease they show passes (`changesAt`).
 * One stream's live view is `stream-view.ts`: apart, so a first screen that only lists does not load it.
 */

/**
 * How a list's streams are read. `range`: the streams are (nearly) every stream of their type between the
 * lowest and the highest id asked for, as a window of a list ordered by id is: one request for that key range
 * instead of one `get` per stream (a list's window is 50 streams, and the list reads again after every write).
 * Only a matter of cost: a stream in the range that was not asked for is read and left out, so the answer is
 * the same either way.
 */
export interface DeliveryReadOptions {
  readonly range?: boolean;
}

/** Delivery facts of many streams at once, with the leases over them, for a list's window. */
export async function readDeliveries(
  db: OutpostDb,
  streamIds: readonly string[],
  options: DeliveryReadOptions = {},
): Promise<{
  readonly deliveries: readonly (DeliveryRow | undefined)[];
  readonly leases: readonly LeaseRow[];
}> {
  const [deliveries, leases] = await Promise.all([
    options.range && streamIds.length > 1
      ? deliveriesInRange(db, streamIds)
      : db.deliveries.bulkGet([...streamIds]),
    db.leases.toArray(),
  ]);
  return { deliveries, leases };
}

/** The delivery rows of `streamIds`, in their order, read as the one key range that spans them. */
async function deliveriesInRange(
  db: OutpostDb,
  streamIds: readonly string[],
): Promise<(DeliveryRow | undefined)[]> {
  let lowest = streamIds[0] as string;
  let highest = lowest;
  for (const streamId of streamIds) {
    if (streamId < lowest) lowest = streamId;
    if (streamId > highest) highest = streamId;
  }
  const rows = await db.deliveries.where(':id').between(lowest, highest, true, true).toArray();
  const byStream = new Map(rows.map((row) => [row.streamId, row]));
  return streamIds.map((streamId) => byStream.get(streamId));
}

/** The core's tables `readDeliveries` and `readDeliveryViews` read. */
const DELIVERY_TABLES = ['deliveries', 'leases'] as const;

/**
 * Runs `read` in one read transaction over a stream type's own `tables` and the core's tables a list's
 * deliveries come from, so a list's window and its deliveries are one consistent read and one round trip
 * (each transaction of its own is a round trip the next command's write waits behind), without the stream
 * type naming a table of the core.
 */
export function readWithDeliveries<T>(
  db: OutpostDb,
  tables: readonly string[],
  read: () => Promise<T>,
): Promise<T> {
  return db.transaction('r', [...tables, ...DELIVERY_TABLES], read);
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
  options: DeliveryReadOptions = {},
): Promise<DeliveryViews> {
  const { deliveries, leases } = await readDeliveries(db, streamIds, options);
  const leased = leasedStreamIds(liveLeases(leases, now));
  return {
    deliveries: streamIds.map((streamId, index) => deliveryView(streamId, deliveries[index], leased)),
    changesAt: nextLeaseChange(leases, now),
  };
}

const byStatus = (db: OutpostDb, status: OutboxRow['status']) =>
  db.outbox.where('[status+position]').between([status, Dexie.minKey], [status, Dexie.maxKey]);

/** One delivery state of the inspector: how many entries, and the first of them. */
export interface OutboxSection {
  /** Exact number of entries in this state. */
  readonly count: number;
  /** The first of them in sending order, at most the limit asked for. */
  readonly rows: readonly OutboxEntry[];
}

/** The outbox by delivery state, as the inspector shows it. */
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
  const [leaseRows, deadCount, dead, pendingCount, parkedCount, parked] = await Promise.all([
    db.leases.toArray(),
    byStatus(db, 'dead').count(),
    byStatus(db, 'dead').limit(limit).toArray(),
    byStatus(db, 'pending').count(),
    byStatus(db, 'parked').count(),
    byStatus(db, 'parked').limit(limit).toArray(),
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
    parked: { count: parkedCount, rows: parked },
    inflight: { count: inflight.length, rows: inflight.slice(0, limit) },
    pending: {
      count: pendingCount - inflight.length,
      rows: firstPending.filter((row) => !leased.has(row.eventId)).slice(0, limit),
    },
  };
}
