import pg from 'pg';
import type {
  NewOutboxRow,
  OutboxRow,
  OutboxStats,
  OutboxStatsReader,
  RelayStore,
} from '../../outbox/server';
import { PUBLISH_RATE_WINDOW_MS } from '../../outbox/server';
import { createPgPool, migratePg, type PgSettings, translatePgError } from './pg-database';

/**
 * The server outbox on PostgreSQL: the rows a push writes in its transaction, the relay's store, and the
 * figures `GET /api/sync/stats` shows (docs/server-outbox.md).
 */

type Query = <R extends pg.QueryResultRow>(
  text: string,
  values?: readonly unknown[],
) => Promise<pg.QueryResult<R>>;

/**
 * Inserts a push's outbox rows, in order, in the push's own transaction: one statement for the batch. Each
 * row takes the next number of its stream from the stream's counter, which the statement locks until the
 * push commits: a later push to the same stream waits, so its rows get both later numbers and later positions.
 */
export async function insertOutboxRows(
  query: Query,
  rows: readonly NewOutboxRow[],
  now: number,
): Promise<void> {
  if (rows.length === 0) return;
  await query(
    `WITH batch AS (
       SELECT r."eventId", r."streamId", r.subject, r.owner, r.body, a.ord,
              row_number() OVER (PARTITION BY r."streamId" ORDER BY a.ord) AS n,
              count(*) OVER (PARTITION BY r."streamId") AS total
       FROM json_array_elements($1::json) WITH ORDINALITY AS a(e, ord)
       CROSS JOIN LATERAL json_to_record(a.e) AS r("eventId" text, "streamId" text, subject text, owner text, body text)
     ), counted AS (
       INSERT INTO server_outbox_streams (stream_id, last_seq)
       SELECT "streamId", count(*) FROM batch GROUP BY "streamId" ORDER BY "streamId"
       ON CONFLICT (stream_id) DO UPDATE SET last_seq = server_outbox_streams.last_seq + excluded.last_seq
       RETURNING stream_id, last_seq
     )
     INSERT INTO server_outbox (event_id, stream_id, subject, owner, body, created_at, stream_seq)
     SELECT b."eventId", b."streamId", b.subject, b.owner, b.body, $2, c.last_seq - b.total + b.n
     FROM batch b JOIN counted c ON c.stream_id = b."streamId"
     ORDER BY b.ord`,
    [JSON.stringify(rows), now],
  );
}

interface OutboxStatsRow {
  depth: number;
  oldest: number | null;
  recent: number;
}

export async function readOutboxStats(query: Query, now: number): Promise<OutboxStats> {
  const { rows } = await query<OutboxStatsRow>(
    `SELECT (SELECT count(*) FROM server_outbox WHERE published_at IS NULL) AS depth,
            (SELECT min(created_at) FROM server_outbox WHERE published_at IS NULL) AS oldest,
            (SELECT count(*) FROM server_outbox WHERE published_at > $1) AS recent`,
    [now - PUBLISH_RATE_WINDOW_MS],
  );
  const row = rows[0] ?? { depth: 0, oldest: null, recent: 0 };
  return {
    depth: row.depth,
    oldestUnpublishedMs: row.oldest === null ? 0 : Math.max(0, now - row.oldest),
    publishedPerSecond: row.recent / (PUBLISH_RATE_WINDOW_MS / 1000),
  };
}

/** The outbox's figures for the server's stats, on a pool of its own (one connection). */
export function createPgOutboxStats(url: string): OutboxStatsReader & { close(): Promise<void> } {
  const pool = createPgPool(
    { url, poolSize: 1, statementTimeoutMs: 5_000, transactionTimeoutMs: 5_000 },
    () => undefined,
  );
  return {
    async outboxStats(now) {
      try {
        return await readOutboxStats((text, values) => pool.query(text, values as unknown[]), now);
      } catch (error) {
        throw translatePgError(error);
      }
    },
    close: () => pool.end(),
  };
}

/** Brings the database to the current schema: a relay or a service may start before any server did. */
export async function migratePgAt(url: string): Promise<void> {
  const pool = createPgPool(
    { url, poolSize: 1, statementTimeoutMs: 60_000, transactionTimeoutMs: 60_000 },
    () => undefined,
  );
  try {
    await migratePg(pool);
  } finally {
    await pool.end();
  }
}

// Any constant every relay of this database shares; it names the lock, nothing else.
const RELAY_LOCK = 7_301_905_121;

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
 * The relay's store on PostgreSQL. Leadership is a session advisory lock held by the store's one connection,
 * and every read and mark of the relay runs on that same connection: a relay whose connection dies loses the
 * lock and, with it, the means to read or mark anything, so two relays never publish at the same time, and
 * a standby takes over as soon as the leader's session ends (a `kill -9` ends it at once).
 */
export function createPgRelayStore(settings: Pick<PgSettings, 'url' | 'statementTimeoutMs'>): RelayStore {
  let client: pg.Client | null = null;
  let leading = false;

  const drop = (): void => {
    const old = client;
    client = null;
    leading = false;
    old?.end().catch(() => undefined);
  };

  async function connection(): Promise<pg.Client> {
    if (client) return client;
    const fresh = new pg.Client({
      connectionString: settings.url,
      application_name: 'outpost-relay',
      statement_timeout: settings.statementTimeoutMs,
      connectionTimeoutMillis: 5_000,
      keepAlive: true,
      types: { getTypeParser: bigintAsNumber },
    });
    // A connection lost between two statements: the lock went with it; the next call connects again.
    fresh.on('error', () => {
      if (client === fresh) drop();
    });
    try {
      await fresh.connect();
      // A mark lost in a crash only republishes its rows, which the broker (msg id) and the services' inboxes
      // drop: the relay need not wait for the WAL to reach the disk at every mark.
      await fresh.query('SET synchronous_commit TO off');
    } catch (error) {
      await fresh.end().catch(() => undefined);
      throw translatePgError(error);
    }
    client = fresh;
    return fresh;
  }

  async function run<R extends pg.QueryResultRow>(text: string, values?: readonly unknown[]) {
    const current = await connection();
    try {
      return await current.query<R>(text, values as unknown[]);
    } catch (error) {
      drop();
      throw translatePgError(error);
    }
  }

  return {
    async lead() {
      if (leading && client) return true;
      const { rows } = await run<{ locked: boolean }>('SELECT pg_try_advisory_lock($1) AS locked', [
        RELAY_LOCK,
      ]);
      leading = rows[0]?.locked === true;
      return leading;
    },
    async unpublished(limit, inFlight = []) {
      if (!leading) return [];
      const { rows } = await run<RowOnDisk>(
        `SELECT position, event_id, stream_id, subject, owner, body, created_at, stream_seq FROM server_outbox
         WHERE published_at IS NULL AND position <> ALL($2::bigint[]) ORDER BY position LIMIT $1`,
        [limit, inFlight],
      );
      return rows.map(
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
      if (positions.length === 0) return;
      await run('UPDATE server_outbox SET published_at = $2 WHERE position = ANY($1::bigint[])', [
        positions,
        at,
      ]);
    },
    async prune(before) {
      let total = 0;
      // In slices, so pruning a long backlog never holds many row locks or one long transaction.
      for (;;) {
        const { rowCount } = await run(
          `DELETE FROM server_outbox WHERE position IN (
             SELECT position FROM server_outbox WHERE published_at < $1 ORDER BY published_at LIMIT 5000)`,
          [before],
        );
        total += rowCount ?? 0;
        if ((rowCount ?? 0) < 5000) return total;
      }
    },
    async close() {
      const old = client;
      client = null;
      leading = false;
      // Ending the session releases the lock: a standby takes over at its next try.
      await old?.end().catch(() => undefined);
    },
  };
}

function bigintAsNumber(oid: number, format?: string) {
  return oid === pg.types.builtins.INT8
    ? (text: string) => Number(text)
    : pg.types.getTypeParser(oid, format as 'text');
}
