import { liveQuery } from 'dexie';
import { defer, filter, from, map, merge, Observable } from 'rxjs';
import {
  type DeliveryView,
  deliveryView,
  liveLeases,
  nextLeaseChange,
  type OutboxEntry,
  outboxEntriesView,
} from '../device/read-models/outbox-view';
import { ACCOUNT_KEY } from '../device/sync/account';
import { AUTHORS_KEY, type Authors, readAuthors } from '../device/sync/feed-facts';
import type { Clock } from '../ids';
import type { DeliveryRow, LeaseRow, OutboxRow, StoredEvent, StreamRow } from '../storage/rows';
import { splitStreamId } from '../stream-ids';
import { type CommittedStream, onCommitted } from './committed-views';
import type { OutpostDb } from './database';
import { overTime } from './over-time';

/**
 * One stream, live, as every stream type's screen shows it: its read-model rows, delivery, outbox entries and
 * events. It re-emits whenever a committed transaction touches what it read (Dexie liveQuery), in this tab or
 * another, and again when a lease over it passes (`overTime`).
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
  /** Who wrote with each clientId the feed named: the timeline says "on Counter tablet (alice)". */
  readonly authors: Authors;
  /** This device's clientIds (one per user who signed in here): their events are "this device's". */
  readonly ownClientIds: readonly string[];
}

interface StreamRead {
  readonly stream: StreamRow | undefined;
  readonly rows: Readonly<Record<string, unknown>>;
  readonly delivery: DeliveryRow | undefined;
  readonly outbox: readonly OutboxRow[];
  readonly events: readonly StoredEvent[];
  readonly leases: readonly LeaseRow[];
  readonly authors: Authors;
  readonly ownClientIds: readonly string[];
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
    authors: read.authors,
    ownClientIds: read.ownClientIds,
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
  // The layouts, not the stream types: a stream's screen can read before its type's code has loaded.
  const parsed = splitStreamId(streamId);
  const layout = parsed ? db.layouts.find((candidate) => candidate.name === parsed.name) : undefined;
  const tables = layout ? Object.keys(layout.tables) : [];
  return defer(() => {
    let last: StreamRead | null = null;
    let committedVersion = 0;
    const reads = from(
      liveQuery(async (): Promise<StreamRead> => {
        const [stream, delivery, outbox, events, leases, people, ...rows] = await Promise.all([
          db.streams.get(streamId),
          db.deliveries.get(streamId),
          db.outbox.where('streamId').equals(streamId).sortBy('version'),
          db.events.where('streamId').equals(streamId).sortBy('position'),
          db.leases.toArray(),
          db.meta.bulkGet([AUTHORS_KEY, 'clientId', ACCOUNT_KEY]),
          ...tables.map((table) => db.table(table).get(parsed?.id ?? '')),
        ]);
        const byTable = Object.fromEntries(tables.map((table, index) => [table, rows[index]]));
        const [authors, clientId, account] = people.map((row) => row?.value);
        return {
          stream,
          rows: byTable,
          delivery,
          outbox,
          events,
          leases,
          authors: readAuthors(authors),
          ownClientIds: ownClientIds(clientId, account),
        };
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
          authors: last?.authors ?? {},
          ownClientIds: last?.ownClientIds ?? [],
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

/** What every stream screen shows besides its own rows: where its changes are, and its events. */
export interface StreamActivity {
  readonly delivery: DeliveryView;
  /** The undelivered outbox entries (join by eventId; no entry: delivered, `deliveryStateOf`). */
  readonly outbox: readonly OutboxEntry[];
  /** Every stored event, in the order they were stored: the timeline. */
  readonly events: readonly StoredEvent[];
  /** Set once the person discarded a dead entry: events from this version on will never be delivered. */
  readonly discardedFromVersion: number | undefined;
  /** Who wrote with each clientId, and which are this device's own (`StreamView`). */
  readonly authors: Authors;
  readonly ownClientIds: readonly string[];
}

/**
 * `liveStream` as a stream type's screen reads it: `pick` turns the stream's read-model rows into the stream
 * type's own view (null while its rows are not there), and the activity every screen shows is added to it.
 */
export function liveStreamScreen<T extends object>(
  db: OutpostDb,
  streamId: string,
  clock: Clock,
  pick: (rows: StreamView['rows']) => T | null,
): Observable<(T & StreamActivity) | null> {
  return liveStream(db, streamId, clock).pipe(
    map((view) => {
      const own = view ? pick(view.rows) : null;
      if (!view || !own) return null;
      return {
        ...own,
        delivery: view.delivery,
        outbox: view.outbox,
        events: view.events,
        discardedFromVersion: view.stream?.discardedFromVersion,
        authors: view.authors,
        ownClientIds: view.ownClientIds,
      };
    }),
  );
}

/** The device's clientId and each signed-in user's on it. */
function ownClientIds(clientId: unknown, account: unknown): string[] {
  const ids = typeof clientId === 'string' ? [clientId] : [];
  const perUser = (account as { clientIds?: Record<string, unknown> } | undefined)?.clientIds ?? {};
  for (const id of Object.values(perUser)) if (typeof id === 'string' && !ids.includes(id)) ids.push(id);
  return ids;
}
