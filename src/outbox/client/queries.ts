import Dexie, { liveQuery } from 'dexie';
import { defer, filter, from, map, merge, Observable } from 'rxjs';
import type { Clock } from '../ids';
import { streamIdOf } from '../protocol/messages';
import { type CommittedOrderRows, onCommitted } from './committed-views';
import type { LeaseRow, OrderDetail, OrderSummary, OrderSummaryView, OutboxRow, OutpostDb } from './db';
import {
  leasedEventIds,
  liveLeases,
  nextLeaseChange,
  type OutboxEntry,
  type OutboxEntryStatus,
  outboxEntriesView,
  summaryView,
} from './outbox-view';
import { overTime } from './over-time';

/**
 * Live views of the read models for the UI: each re-emits whenever a committed transaction touches what it
 * read (Dexie liveQuery), in this tab or another.
 */

export interface OrderDetailView {
  readonly summary: OrderSummaryView;
  readonly detail: OrderDetail;
  /**
   * The order's undelivered outbox entries, so each timeline entry can show its delivery state (join by
   * eventId; a client event with no entry is delivered, `deliveryStateOf`).
   */
  readonly outbox: readonly OutboxEntry[];
  /** Set once the person discarded a dead entry: events from this version on will never be delivered. */
  readonly discardedFromVersion: number | undefined;
}

interface OrderDetailRead {
  readonly summary: OrderSummary;
  readonly detail: OrderDetail;
  readonly rows: readonly OutboxRow[];
  readonly leases: readonly LeaseRow[];
  readonly discardedFromVersion: number | undefined;
}

/** The order as views show it at `now`: only a live lease makes it, or an entry, "sending". */
function orderDetailAt(read: OrderDetailRead, now: number): OrderDetailView {
  const live = liveLeases(read.leases, now);
  return {
    summary: summaryView(read.summary, live),
    detail: read.detail,
    outbox: outboxEntriesView(read.rows, live),
    discardedFromVersion: read.discardedFromVersion,
  };
}

/**
 * One order with its lines, timeline and outbox entries; null while it does not exist. Derived again when a
 * lease over it passes, whether or not a row changed (`overTime`).
 *
 * Two sources: the live query (any writer, any context) and the rows this connection's command handler
 * announces as it commits (`committed-views.ts`), so the person sees their own command's result without
 * waiting for a second read. A read that started before such a commit and lands after it is dropped (an
 * order's version never goes back), and the announced rows take the leases from the latest read.
 */
export function liveOrderDetail(
  db: OutpostDb,
  orderId: string,
  clock: Clock,
): Observable<OrderDetailView | null> {
  return defer(() => {
    let leases: readonly LeaseRow[] = [];
    let committedVersion = 0;
    const reads = from(
      liveQuery(async () => {
        const streamId = streamIdOf(orderId);
        const [summary, detail, rows, leaseRows, stream] = await Promise.all([
          db.orderSummaries.get(orderId),
          db.orderDetails.get(orderId),
          db.outbox.where('streamId').equals(streamId).sortBy('version'),
          db.leases.toArray(),
          db.streams.get(streamId),
        ]);
        return { summary, detail, rows, leaseRows, discardedFromVersion: stream?.discardedFromVersion };
      }),
    ).pipe(
      filter(({ summary }) => (summary?.version ?? 0) >= committedVersion),
      map(({ summary, detail, rows, leaseRows, discardedFromVersion }): OrderDetailRead | null => {
        leases = leaseRows;
        return summary && detail ? { summary, detail, rows, leases, discardedFromVersion } : null;
      }),
    );
    // A subscriber that throws is reported by rxjs on its own, asynchronously: the writer is never hurt.
    const commits = new Observable<CommittedOrderRows>((subscriber) =>
      onCommitted(db, (rows) => {
        if (rows.summary.orderId === orderId) subscriber.next(rows);
      }),
    );
    const committed = commits.pipe(
      map(({ summary, detail, outbox, discardedFromVersion }): OrderDetailRead => {
        committedVersion = Math.max(committedVersion, summary.version);
        const rows = [...outbox].sort((a, b) => a.version - b.version);
        return { summary, detail, rows, leases, discardedFromVersion };
      }),
    );
    return merge(reads, committed).pipe(
      overTime(
        (read, now) => (read ? orderDetailAt(read, now) : null),
        (read, now) => (read ? nextLeaseChange(read.leases, now) : null),
        () => clock.now(),
      ),
    );
  });
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
