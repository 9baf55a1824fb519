import type pg from 'pg';
import * as v from 'valibot';
import { type Clock, systemClock } from '../../outbox/ids';
import {
  type WireClientEvent,
  WireClientEventSchema,
  type WireServerEvent,
  WireServerEventSchema,
} from '../../outbox/protocol/messages';
import {
  type FeedStorage,
  outboxRowsOf,
  type PullCursor,
  type PulledPage,
  type PullRequest,
  type ServerStats,
  type ServerStorage,
  type ServerStorageReader,
  type ServerStorageTx,
  StorageConflictError,
  StorageUnavailableError,
  type StorageWrite,
} from '../../outbox/server';
import { type Logger, silentLogger } from './log';
import {
  createPgPool,
  DEFAULT_PG_SETTINGS,
  isUnreachable,
  migratePg,
  type PgSettings,
  PgStorageError,
  translatePgError,
} from './pg-database';
import { createPgFeed } from './pg-feed';
import { type OpenTransactionWatch, watchOpenTransactions } from './pg-open-transactions';
import { insertOutboxRows } from './pg-outbox';

/**
 * The sync storage on PostgreSQL, shared by any number of server instances. Every guarantee lives in the
 * database: UNIQUE constraints and a trigger keep an event stored once and streams without holes, primary
 * keys give a stream or clientId one owner, and a sequence hands out serverSeqs no two transactions share.
 * Pulls read in commit-safe order: each row carries the id of the transaction that wrote it, and a pull
 * returns only rows of transactions older than every transaction still open, ordered by (transaction id,
 * position), so a cursor never moves past a row that may still commit (docs/decisions.md, 11).
 */
export interface PgStorageOptions extends Partial<Omit<PgSettings, 'url'>> {
  readonly url: string;
  readonly clock?: Clock;
  readonly logger?: Logger;
  /** A transaction open longer than this is logged as holding pulls back; default 5 s. */
  readonly openTransactionBoundMs?: number;
  /** How often the oldest open transaction is sampled; default 1 s. */
  readonly openTransactionSampleMs?: number;
}

const StoredServerEventSchema = v.object({
  eventId: v.string(),
  streamId: v.string(),
  type: v.string(),
  data: v.unknown(),
  occurredAt: v.string(),
});

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new PgStorageError('storage_corrupt', `${what} is not valid JSON`);
  }
}

// Rows are checked on the way out rather than cast: a row that no longer matches the protocol must fail
// loudly instead of reaching a client. `v.is` checks without transforming, so an event comes back as accepted.
function toClientEvent(body: string): WireClientEvent {
  const value = parseJson(body, 'A stored client event');
  if (!v.is(WireClientEventSchema, value)) {
    throw new PgStorageError('storage_corrupt', 'A stored client event does not match protocol v1');
  }
  return value;
}

function toServerEvent(row: { server_seq: number; body: string }): WireServerEvent {
  const stored = v.safeParse(StoredServerEventSchema, parseJson(row.body, 'A stored server event'));
  const event = stored.success
    ? v.safeParse(WireServerEventSchema, { ...stored.output, serverSeq: row.server_seq })
    : null;
  if (!event?.success) {
    throw new PgStorageError('storage_corrupt', `Server event ${row.server_seq} does not match protocol v1`);
  }
  return event.output;
}

interface BatchRow {
  kind: 'event' | 'stream' | 'owner' | 'client';
  key: string;
  body: string | null;
  owner: string | null;
}

const emptyStreams = (streamIds: readonly string[]) =>
  new Map(
    streamIds.map((id) => [id, { events: [] as WireClientEvent[], owner: undefined as string | undefined }]),
  );

interface PulledRow {
  server_seq: number;
  transaction_id: string;
  position: number;
  body: string;
}

const PULL_FILTER = `
  AND s.transaction_id < pg_snapshot_xmin(pg_current_snapshot())
  AND EXISTS (SELECT 1 FROM client_streams c WHERE c.client_id = $1 AND c.stream_id = s.stream_id)
  AND ($3::text IS NULL
       OR EXISTS (SELECT 1 FROM stream_owners o WHERE o.stream_id = s.stream_id AND o.username = $3))
  ORDER BY s.transaction_id, s.position
  LIMIT $2`;
const PULL_COLUMNS = 's.server_seq, s.transaction_id::text AS transaction_id, s.position, s.body';
// After a commit cursor: the rows past that place in commit order.
const PULL_AFTER_COMMIT = `SELECT ${PULL_COLUMNS} FROM server_events s
  WHERE (s.transaction_id, s.position) > ($4::xid8, $5::bigint) ${PULL_FILTER}`;
// After a decimal serverSeq (a client of a single-writer server, or "0"): every row numbered higher, read in
// the same commit order from then on.
const PULL_AFTER_SEQ = `SELECT ${PULL_COLUMNS} FROM server_events s WHERE s.server_seq > $4 ${PULL_FILTER}`;

const COUNTER_SLOTS = 16;

type Query = <R extends pg.QueryResultRow>(
  text: string,
  values?: readonly unknown[],
) => Promise<pg.QueryResult<R>>;

function readerOn(query: Query, watch: OpenTransactionWatch): ServerStorageReader {
  return {
    async batchContext({ eventIds, streamIds, clientId }) {
      // One statement, so one snapshot: every part is read at the same moment, even under READ COMMITTED.
      const { rows } = await query<BatchRow>(
        `SELECT 'event' AS kind, event_id AS key, version, body, NULL AS owner
           FROM client_events WHERE event_id = ANY($1::text[])
         UNION ALL
         SELECT 'stream', stream_id, version, body, NULL FROM client_events WHERE stream_id = ANY($2::text[])
         UNION ALL
         SELECT 'owner', stream_id, 0, NULL, username FROM stream_owners WHERE stream_id = ANY($2::text[])
         UNION ALL
         SELECT 'client', client_id, 0, NULL, username FROM client_owners WHERE client_id = $3
         ORDER BY kind, key, version`,
        [eventIds, streamIds, clientId],
      );
      const clientEvents = new Map<string, WireClientEvent>();
      const streams = emptyStreams(streamIds);
      let clientOwner: string | undefined;
      for (const row of rows) {
        if (row.kind === 'event' && row.body !== null) clientEvents.set(row.key, toClientEvent(row.body));
        else if (row.kind === 'stream' && row.body !== null)
          streams.get(row.key)?.events.push(toClientEvent(row.body));
        else if (row.kind === 'owner' && row.owner !== null) {
          const stream = streams.get(row.key);
          if (stream) stream.owner = row.owner;
        } else if (row.kind === 'client' && row.owner !== null) clientOwner = row.owner;
      }
      return { clientEvents, streams, clientOwner };
    },
    async clientEvents(eventIds) {
      if (eventIds.length === 0) return new Map();
      const { rows } = await query<{ event_id: string; body: string }>(
        'SELECT event_id, body FROM client_events WHERE event_id = ANY($1::text[])',
        [eventIds],
      );
      return new Map(rows.map((row) => [row.event_id, toClientEvent(row.body)]));
    },
    async streams(streamIds) {
      const streams = emptyStreams(streamIds);
      if (streamIds.length === 0) return streams;
      // Events and owners in one round trip: an owner row has no version and no body.
      const { rows } = await query<{ stream_id: string; body: string | null; owner: string | null }>(
        `SELECT stream_id, version, body, NULL AS owner FROM client_events WHERE stream_id = ANY($1::text[])
         UNION ALL
         SELECT stream_id, 0, NULL, username FROM stream_owners WHERE stream_id = ANY($1::text[])
         ORDER BY stream_id, version`,
        [streamIds],
      );
      for (const row of rows) {
        const stream = streams.get(row.stream_id);
        if (!stream) continue;
        if (row.owner !== null) stream.owner = row.owner;
        else if (row.body !== null) stream.events.push(toClientEvent(row.body));
      }
      return streams;
    },
    async clientOwner(clientId) {
      const { rows } = await query<{ username: string }>(
        'SELECT username FROM client_owners WHERE client_id = $1',
        [clientId],
      );
      return rows[0]?.username;
    },
    async pull({ clientId, since, limit, owner }: PullRequest): Promise<PulledPage> {
      const common = [clientId, limit + 1, owner ?? null];
      const { rows } =
        since.kind === 'commit'
          ? await query<PulledRow>(PULL_AFTER_COMMIT, [...common, since.transactionId, since.position])
          : await query<PulledRow>(PULL_AFTER_SEQ, [...common, since.serverSeq]);
      const page = rows.slice(0, limit);
      const last = page.at(-1);
      const cursor: PullCursor = last
        ? { kind: 'commit', transactionId: last.transaction_id, position: last.position }
        : since;
      return { events: page.map(toServerEvent), cursor, hasMore: rows.length > limit };
    },
    async stats(): Promise<ServerStats> {
      const { rows } = await query<{
        eventsStored: number;
        streams: number;
        serverEvents: number;
        duplicatesAnswered: number;
      }>(
        `SELECT
           (SELECT count(*) FROM client_events) AS "eventsStored",
           (SELECT count(DISTINCT stream_id) FROM client_events) AS streams,
           (SELECT count(*) FROM server_events) AS "serverEvents",
           (SELECT COALESCE(sum(value), 0)::bigint FROM counters WHERE name = 'duplicatesAnswered')
             AS "duplicatesAnswered"`,
      );
      const types = await query<{ type: string; count: number }>(
        'SELECT type, count(*) AS count FROM server_events GROUP BY type ORDER BY type',
      );
      const row = rows[0];
      if (!row) throw new PgStorageError('storage_corrupt', 'Stats query returned nothing');
      return {
        ...row,
        serverEventsByType: Object.fromEntries(types.rows.map(({ type, count }) => [type, count] as const)),
        oldestOpenTransactionMs: watch.oldestOpenMs(),
      };
    },
  };
}

export interface PgStorage extends ServerStorage {
  /** Samples the oldest open transaction now (tests; the storage samples on its own every second). */
  sampleOpenTransactions(): Promise<void>;
  /** The feed extension on the same database (docs/protocol.md, "The feed"). */
  readonly feed: FeedStorage;
}

/** Connects, brings the schema up to date, and answers the storage. */
export async function createPgStorage(options: PgStorageOptions): Promise<PgStorage> {
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? silentLogger;
  const settings: PgSettings = { ...DEFAULT_PG_SETTINGS, ...options };
  const pool = createPgPool(settings, (error) =>
    logger({
      level: 'warn',
      msg: 'a pooled PostgreSQL connection was lost; the pool opens a new one',
      error: error.message,
    }),
  );
  try {
    await migratePg(pool);
  } catch (error) {
    await pool.end();
    throw error;
  }
  const watch = watchOpenTransactions({
    pool,
    boundMs: options.openTransactionBoundMs ?? 5_000,
    intervalMs: options.openTransactionSampleMs ?? 1_000,
    logger,
  });
  let closed = false;

  /**
   * Runs `work` in one transaction on one pooled connection. Every statement goes through the returned
   * `query`, which refuses to run once the transaction ended or outlived its deadline.
   */
  async function inTransaction<T>(begin: string, work: (query: Query) => Promise<T>): Promise<T> {
    if (closed) throw new PgStorageError('storage_closed', 'The PostgreSQL storage is closed');
    let client: pg.PoolClient;
    try {
      client = await pool.connect();
    } catch (error) {
      throw translatePgError(error);
    }
    let lost: Error | undefined;
    // The pool stops listening for errors while a connection is lent out: a connection that dies between two
    // statements (PostgreSQL restarting) would otherwise crash the process. The next statement then fails.
    const onLost = (error: Error): void => {
      lost = error;
    };
    client.on('error', onLost);
    const deadline = performance.now() + settings.transactionTimeoutMs;
    let open = true;
    const query: Query = (text, values) => {
      if (!open) return Promise.reject(new PgStorageError('tx_finished', 'Transaction already finished'));
      if (performance.now() > deadline) {
        return Promise.reject(
          new StorageUnavailableError(`The transaction outlived its ${settings.transactionTimeoutMs} ms`),
        );
      }
      // Named, so each connection parses and plans a statement once: every text here is a constant.
      return client.query({ name: statementName(text), text, values: values as unknown[] });
    };
    try {
      await client.query(begin);
      const result = await work(query);
      open = false;
      await client.query('COMMIT');
      return result;
    } catch (error) {
      open = false;
      if (isUnreachable(error)) lost = error instanceof Error ? error : new Error(String(error));
      else await client.query('ROLLBACK').catch((rollbackError: Error) => (lost = rollbackError));
      throw translatePgError(error);
    } finally {
      client.off('error', onLost);
      // A connection that failed is destroyed, not handed to the next request.
      client.release(lost);
    }
  }

  function txOn(query: Query): ServerStorageTx {
    const reader = readerOn(query, watch);
    return {
      ...reader,
      async allocateServerSeqs(count) {
        if (count <= 0) return [];
        // A sequence never hands a number out twice, whatever commits or rolls back (which leaves a gap).
        const { rows } = await query<{ seq: number }>(
          "SELECT nextval('server_seq') AS seq FROM generate_series(1, $1::integer)",
          [count],
        );
        return rows.map((row) => row.seq).sort((a, b) => a - b);
      },
      write: (changes) => write(query, changes),
    };
  }

  async function write(query: Query, changes: StorageWrite): Promise<void> {
    const { clientId } = changes;
    if (changes.claims) await claim(query, clientId, changes.claims);

    // Sorted by stream, each stream's versions ascending: concurrent batches then take their row locks in
    // one order and cannot deadlock on each other's streams.
    const clientEvents = [...(changes.clientEvents ?? [])].sort(
      (a, b) => compare(a.streamId, b.streamId) || a.version - b.version,
    );
    if (clientEvents.length > 0) {
      let inserted: number;
      try {
        // One JSON array, not one array parameter per column: a `json` element keeps its text exactly, so
        // each body is stored as serialised here, and nothing is escaped twice on the way.
        const result = await query(
          `INSERT INTO client_events (event_id, stream_id, version, type, body, client_id, received_at)
           SELECT r."eventId", r."streamId", r.version, r.type, a.e::text, $2, $3
           FROM json_array_elements($1::json) WITH ORDINALITY AS a(e, ord)
           CROSS JOIN LATERAL json_to_record(a.e) AS r("eventId" text, "streamId" text, version integer, type text)
           ORDER BY a.ord
           ON CONFLICT DO NOTHING`,
          [JSON.stringify(clientEvents), clientId, clock.now()],
        );
        inserted = result.rowCount ?? 0;
      } catch (error) {
        const constraint = (error as { constraint?: unknown }).constraint;
        if (constraint === 'client_events_contiguous') {
          throw new StorageConflictError(
            'streamVersion',
            'A stream cannot take a version that is not its next',
          );
        }
        throw error;
      }
      if (inserted < clientEvents.length) {
        // Another transaction stored some of them first. The eventId is what the caller must hear about.
        const taken = await query<{ event_id: string }>(
          `SELECT event_id FROM client_events
           WHERE event_id = ANY($1::text[]) AND transaction_id <> pg_current_xact_id() LIMIT 1`,
          [clientEvents.map((event) => event.eventId)],
        );
        const [stored] = taken.rows;
        if (stored) throw new StorageConflictError('eventId', `Event ${stored.event_id} is already stored`);
        throw new StorageConflictError(
          'streamVersion',
          'Another transaction took a version this batch needs',
        );
      }
    }

    const serverEvents = changes.serverEvents ?? [];
    if (serverEvents.length > 0) {
      for (const event of serverEvents) {
        // A malformed decision is a caller bug: it must roll the batch back, never become a row no pull reads.
        if (!v.is(WireServerEventSchema, event)) {
          throw new Error('A server event does not match protocol v1');
        }
      }
      // The body leaves serverSeq out: the column is the truth.
      const bodies = serverEvents.map((event) => ({
        serverSeq: event.serverSeq,
        body: {
          eventId: event.eventId,
          streamId: event.streamId,
          type: event.type,
          data: event.data,
          occurredAt: event.occurredAt,
        },
      }));
      await query(
        `INSERT INTO server_events (server_seq, event_id, stream_id, type, body)
         SELECT r."serverSeq", b."eventId", b."streamId", b.type, r.body::text
         FROM json_array_elements($1::json) WITH ORDINALITY AS a(e, ord)
         CROSS JOIN LATERAL json_to_record(a.e) AS r("serverSeq" bigint, body json)
         CROSS JOIN LATERAL json_to_record(r.body) AS b("eventId" text, "streamId" text, type text)
         ORDER BY a.ord`,
        [JSON.stringify(bodies)],
      );
    }

    const linked = [...new Set(changes.linkedStreams ?? [])].sort(compare);
    if (linked.length > 0) {
      await query(
        `INSERT INTO client_streams (client_id, stream_id)
         SELECT $1, s FROM unnest($2::text[]) AS s ORDER BY s
         ON CONFLICT DO NOTHING`,
        [clientId, linked],
      );
    }

    if (changes.duplicatesAnswered) {
      await query(
        `INSERT INTO counters (name, slot, value) VALUES ('duplicatesAnswered', $1, $2)
         ON CONFLICT (name, slot) DO UPDATE SET value = counters.value + excluded.value`,
        [Math.floor(Math.random() * COUNTER_SLOTS), changes.duplicatesAnswered],
      );
    }

    // The server outbox: one row per event stored here, committed with it or not at all.
    await insertOutboxRows(query, outboxRowsOf(changes), clock.now());
  }

  /** Takes what has no owner, keeps what is already the owner's, and refuses anything owned by another. */
  async function claim(query: Query, clientId: string, claims: NonNullable<StorageWrite['claims']>) {
    const { owner } = claims;
    const taken = (what: string) => new StorageConflictError('owner', `${what} belongs to another user`);
    // Two statements: the check must see a rival's claim that committed while the insert waited for it.
    if (claims.client) {
      await query('INSERT INTO client_owners (client_id, username) VALUES ($1, $2) ON CONFLICT DO NOTHING', [
        clientId,
        owner,
      ]);
      const { rows } = await query<{ username: string }>(
        'SELECT username FROM client_owners WHERE client_id = $1',
        [clientId],
      );
      if (rows[0]?.username !== owner) throw taken(`Client ${clientId}`);
    }
    const streams = [...new Set(claims.streams)].sort(compare);
    if (streams.length > 0) {
      await query(
        `INSERT INTO stream_owners (stream_id, username) SELECT s, $2 FROM unnest($1::text[]) AS s ORDER BY s
         ON CONFLICT DO NOTHING`,
        [streams, owner],
      );
      const { rows } = await query<{ stream_id: string }>(
        'SELECT stream_id FROM stream_owners WHERE stream_id = ANY($1::text[]) AND username <> $2',
        [streams, owner],
      );
      if (rows.length > 0) throw taken(`Stream ${rows[0]?.stream_id}`);
    }
  }

  const feed = createPgFeed({
    read: (work) => inTransaction('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY', work),
    write: (work) => inTransaction('BEGIN', work),
    toClientEvent,
    toServerEvent,
  });

  return {
    feed,
    transaction: (work) => inTransaction('BEGIN', (query) => work(txOn(query))),
    // One snapshot for every statement of the work; read-only, so it never takes a transaction id and never
    // holds anybody's pulls back.
    read: (work) =>
      inTransaction('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY', (query) =>
        work(readerOn(query, watch)),
      ),
    async check() {
      if (closed) throw new PgStorageError('storage_closed', 'The PostgreSQL storage is closed');
      try {
        await pool.query('SELECT 1');
      } catch (error) {
        throw translatePgError(error);
      }
    },
    sampleOpenTransactions: () => watch.sample(),
    async close() {
      if (closed) return;
      closed = true;
      watch.stop();
      // Ends once every connection in use is released: transactions in flight finish first.
      await pool.end();
    },
  };
}

const statementNames = new Map<string, string>();
function statementName(text: string): string {
  let name = statementNames.get(text);
  if (name === undefined) {
    name = `outpost_${statementNames.size + 1}`;
    statementNames.set(text, name);
  }
  return name;
}

const compare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
