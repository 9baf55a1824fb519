import type Database from 'better-sqlite3';
import type { Clock } from '../../outbox/ids';
import {
  type NewOutboxRow,
  type OutboxRow,
  type OutboxStats,
  type OutboxStatsReader,
  PUBLISH_RATE_WINDOW_MS,
  type RelayStore,
} from '../../outbox/server';
import { openSqliteDatabase } from './sqlite-database';

/**
 * The server outbox in the SQLite file: the rows a push writes in its transaction, the relay's store, and the
 * figures `GET /api/sync/stats` shows (docs/server-outbox.md).
 */

/**
 * The statements a push's write runs per row, prepared once on the storage's connection: each row takes the
 * next number of its stream from the stream's counter (SQLite writes one transaction at a time).
 */
export function prepareOutboxInsert(
  db: Database.Database,
): (rows: readonly NewOutboxRow[], now: number) => void {
  const nextSeq = db
    .prepare<[string], number>(
      `INSERT INTO server_outbox_streams (stream_id, last_seq) VALUES (?, 1)
       ON CONFLICT (stream_id) DO UPDATE SET last_seq = last_seq + 1 RETURNING last_seq`,
    )
    .pluck();
  const insert = db.prepare<[string, string, string, string | null, string, number, number]>(
    `INSERT INTO server_outbox (event_id, stream_id, subject, owner, body, created_at, stream_seq)
     VALUES (?, ?, ?, ?, ?, ?, ?)`,
  );
  return (rows, now) => {
    for (const row of rows) {
      const seq = nextSeq.get(row.streamId);
      if (seq === undefined) throw new Error(`No outbox counter for ${row.streamId}`);
      insert.run(row.eventId, row.streamId, row.subject, row.owner, row.body, now, seq);
    }
  };
}

function statsOn(db: Database.Database) {
  const select = db.prepare<[number], { depth: number; oldest: number | null; recent: number }>(
    `SELECT (SELECT COUNT(*) FROM server_outbox WHERE published_at IS NULL) AS depth,
            (SELECT MIN(created_at) FROM server_outbox WHERE published_at IS NULL) AS oldest,
            (SELECT COUNT(*) FROM server_outbox WHERE published_at > ?) AS recent`,
  );
  return (now: number): OutboxStats => {
    const row = select.get(now - PUBLISH_RATE_WINDOW_MS) ?? { depth: 0, oldest: null, recent: 0 };
    return {
      depth: row.depth,
      oldestUnpublishedMs: row.oldest === null ? 0 : Math.max(0, now - row.oldest),
      publishedPerSecond: row.recent / (PUBLISH_RATE_WINDOW_MS / 1000),
    };
  };
}

/** The outbox's figures for the server's stats, on a read connection of its own. */
export function createSqliteOutboxStats(file: string): OutboxStatsReader & { close(): Promise<void> } {
  const db = openSqliteDatabase(file);
  const stats = statsOn(db);
  return {
    outboxStats: async (now) => stats(now),
    close: async () => {
      db.close();
    },
  };
}

export interface SqliteRelayStoreOptions {
  readonly file: string;
  readonly clock: Clock;
  /** Who this relay is, in the lease (a fresh id per process). */
  readonly holder: string;
  /** How long a lease lasts unless renewed; a relay renews it at half-time. Default 10 s. */
  readonly leaseMs?: number;
}

interface RowOnDisk {
  position: number;
  event_id: string;
  stream_id: string;
  subject: string;
  owner: string | null;
  body: string;
  created_at: number;
  stream_seq: number | null;
}

/**
 * The relay's store on the SQLite file. Leadership is a lease row (several processes may open the file: a
 * relay inside `npm start` and `npm run relay`): the holder renews it at half-time; another relay takes it
 * only once it expired, so a relay that died is replaced within one lease.
 */
export function createSqliteRelayStore(options: SqliteRelayStoreOptions): RelayStore {
  const db = openSqliteDatabase(options.file);
  // A mark lost at a power cut only republishes its rows, which the broker (msg id) and the services' inboxes
  // drop: this connection's commits need not be fsynced (pushes, on their own connection, still are).
  db.pragma('synchronous = NORMAL');
  const leaseMs = options.leaseMs ?? 10_000;
  const readLease = db.prepare<[], { holder: string; expires_at: number }>(
    'SELECT holder, expires_at FROM relay_lease WHERE id = 1',
  );
  const writeLease = db.prepare<[string, number]>(
    `INSERT INTO relay_lease (id, holder, expires_at) VALUES (1, ?, ?)
     ON CONFLICT (id) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at`,
  );
  const selectUnpublished = db.prepare<[string, number], RowOnDisk>(
    `SELECT position, event_id, stream_id, subject, owner, body, created_at, stream_seq FROM server_outbox
     WHERE published_at IS NULL AND position NOT IN (SELECT value FROM json_each(?)) ORDER BY position LIMIT ?`,
  );
  const mark = db.prepare<[number, number]>('UPDATE server_outbox SET published_at = ? WHERE position = ?');
  const prune = db.prepare<[number]>(
    `DELETE FROM server_outbox WHERE position IN (
       SELECT position FROM server_outbox WHERE published_at < ? ORDER BY published_at LIMIT 5000)`,
  );
  const markAll = db.transaction((positions: readonly number[], at: number) => {
    for (const position of positions) mark.run(at, position);
  });
  const takeLease = db.transaction((now: number): boolean => {
    const lease = readLease.get();
    if (lease && lease.holder !== options.holder && lease.expires_at > now) return false;
    writeLease.run(options.holder, now + leaseMs);
    return true;
  });
  let closed = false;

  return {
    async lead() {
      const now = options.clock.now();
      const lease = readLease.get();
      // Renewed at half-time only: a write (an fsync) per batch would cost more than the batch.
      if (lease?.holder === options.holder && lease.expires_at - now > leaseMs / 2) return true;
      return takeLease.immediate(now);
    },
    async unpublished(limit, inFlight = []) {
      return selectUnpublished.all(JSON.stringify(inFlight), limit).map(
        (row): OutboxRow => ({
          position: row.position,
          eventId: row.event_id,
          streamId: row.stream_id,
          subject: row.subject,
          owner: row.owner,
          body: row.body,
          createdAt: row.created_at,
          streamSeq: row.stream_seq,
        }),
      );
    },
    async markPublished(positions, at) {
      if (positions.length > 0) markAll.immediate(positions, at);
    },
    async prune(before) {
      let total = 0;
      for (;;) {
        const { changes } = prune.run(before);
        total += changes;
        if (changes < 5000) return total;
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      // Gives the lease back, so a relay that takes over need not wait for it to expire.
      db.prepare('DELETE FROM relay_lease WHERE holder = ?').run(options.holder);
      db.close();
    },
  };
}
