import type Database from 'better-sqlite3';
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
  type PulledPage,
  readBatchContext,
  type ServerStats,
  type ServerStorage,
  type ServerStorageReader,
  type ServerStorageTx,
  StorageConflictError,
  type StorageWrite,
  takingTurns,
} from '../../outbox/server';
import { isConstraintViolation, openSqliteDatabase, SqliteStorageError } from './sqlite-database';
import { createSqliteFeed } from './sqlite-feed';
import { prepareOutboxInsert } from './sqlite-outbox';

/**
 * The reference server's durable storage: one SQLite file, opened by one process.
 *
 * Uniqueness lives in the schema (UNIQUE event_id, UNIQUE (stream_id, version)), not in the caller's checks,
 * so even a bug upstream cannot store an event twice. Each `transaction` is one SQLite transaction, committed
 * (WAL + synchronous=FULL: fsynced) before the promise resolves, so nothing is answered before it is durable.
 */

export interface SqliteStorageOptions {
  /** Path of the database file; its folder is created if missing. `:memory:` for a throwaway database. */
  readonly file: string;
  /** Stamps `received_at`; the system clock unless a test injects one. */
  readonly clock?: Clock;
}

/** A stored server event without its sequence number: the row's `server_seq` is the source of truth. */
const StoredServerEventSchema = v.object({
  eventId: v.string(),
  streamId: v.string(),
  type: v.string(),
  data: v.unknown(),
  occurredAt: v.string(),
});

interface ServerEventRow {
  server_seq: number;
  body: string;
}

interface StatsRow {
  eventsStored: number;
  streams: number;
  serverEvents: number;
  duplicatesAnswered: number;
}

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new SqliteStorageError('storage_corrupt', `${what} is not valid JSON`);
  }
}

// Rows are checked on the way out rather than cast: the file outlives this code, and a row that no longer
// matches the protocol must fail loudly instead of reaching a client. `v.is` checks without transforming, so a
// client event comes back byte for byte as it was accepted.
function toClientEvent(body: string): WireClientEvent {
  const value = parseJson(body, 'A stored client event');
  if (!v.is(WireClientEventSchema, value)) {
    throw new SqliteStorageError('storage_corrupt', 'A stored client event does not match protocol v1');
  }
  return value;
}

function toServerEvent(row: ServerEventRow): WireServerEvent {
  const stored = v.safeParse(StoredServerEventSchema, parseJson(row.body, 'A stored server event'));
  if (!stored.success) {
    throw new SqliteStorageError('storage_corrupt', `Server event ${row.server_seq} is malformed`);
  }
  const event = v.safeParse(WireServerEventSchema, { ...stored.output, serverSeq: row.server_seq });
  if (!event.success) {
    throw new SqliteStorageError(
      'storage_corrupt',
      `Server event ${row.server_seq} does not match protocol v1`,
    );
  }
  return event.output;
}

interface ServerEventQuery {
  clientId: string;
  afterSeq: number;
  limit: number;
  owner: string | null;
}

/** The storage's statements, prepared once per connection. */
function prepareStatements(db: Database.Database) {
  return {
    insertClientEvent: db.prepare<[string, string, number, string, string, string, number]>(
      `INSERT INTO client_events (event_id, stream_id, version, type, body, client_id, received_at)
       VALUES (?, ?, ?, ?, ?, ?, ?)`,
    ),
    selectClientEvent: db
      .prepare<[string], string>('SELECT body FROM client_events WHERE event_id = ?')
      .pluck(),
    selectStreamEvents: db
      .prepare<[string], string>('SELECT body FROM client_events WHERE stream_id = ? ORDER BY version')
      .pluck(),
    // AUTOINCREMENT hands out max(sqlite_sequence, MAX(rowid)) + 1; both roll back with the transaction.
    selectLastServerSeq: db
      .prepare<[], number>(
        `SELECT MAX(
           COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'server_events'), 0),
           COALESCE((SELECT MAX(server_seq) FROM server_events), 0))`,
      )
      .pluck(),
    insertServerEvent: db.prepare<[number, string, string, string, string]>(
      'INSERT INTO server_events (server_seq, event_id, stream_id, type, body) VALUES (?, ?, ?, ?, ?)',
    ),
    selectServerEventsForClient: db.prepare<[ServerEventQuery], ServerEventRow>(
      `SELECT s.server_seq, s.body FROM server_events s
       WHERE s.server_seq > @afterSeq
         AND EXISTS (SELECT 1 FROM client_streams c WHERE c.client_id = @clientId AND c.stream_id = s.stream_id)
         AND (@owner IS NULL
              OR EXISTS (SELECT 1 FROM stream_owners o WHERE o.stream_id = s.stream_id AND o.username = @owner))
       ORDER BY s.server_seq LIMIT @limit`,
    ),
    selectStreamOwner: db
      .prepare<[string], string>('SELECT username FROM stream_owners WHERE stream_id = ?')
      .pluck(),
    insertStreamOwner: db.prepare<[string, string]>(
      'INSERT INTO stream_owners (stream_id, username) VALUES (?, ?)',
    ),
    selectClientOwner: db
      .prepare<[string], string>('SELECT username FROM client_owners WHERE client_id = ?')
      .pluck(),
    insertClientOwner: db.prepare<[string, string]>(
      'INSERT INTO client_owners (client_id, username) VALUES (?, ?)',
    ),
    insertClientStream: db.prepare<[string, string]>(
      'INSERT OR IGNORE INTO client_streams (client_id, stream_id) VALUES (?, ?)',
    ),
    incrementCounter: db.prepare<[string, number]>(
      `INSERT INTO counters (name, value) VALUES (?, ?)
       ON CONFLICT (name) DO UPDATE SET value = value + excluded.value`,
    ),
    selectStats: db.prepare<[], StatsRow>(
      `SELECT
         (SELECT COUNT(*) FROM client_events) AS eventsStored,
         (SELECT COUNT(DISTINCT stream_id) FROM client_events) AS streams,
         (SELECT COUNT(*) FROM server_events) AS serverEvents,
         (SELECT COALESCE(SUM(value), 0) FROM counters WHERE name = 'duplicatesAnswered') AS duplicatesAnswered`,
    ),
    selectServerEventTypes: db.prepare<[], { type: string; count: number }>(
      'SELECT type, COUNT(*) AS count FROM server_events GROUP BY type ORDER BY type',
    ),
  };
}
type Statements = ReturnType<typeof prepareStatements>;

function readerOn(sql: Statements): ServerStorageReader {
  const reader: ServerStorageReader = {
    batchContext: (request) => readBatchContext(reader, request),
    async clientEvents(eventIds) {
      const found = new Map<string, WireClientEvent>();
      for (const eventId of eventIds) {
        const body = sql.selectClientEvent.get(eventId);
        if (body !== undefined) found.set(eventId, toClientEvent(body));
      }
      return found;
    },
    async streams(streamIds) {
      return new Map(
        streamIds.map((streamId) => [
          streamId,
          {
            events: sql.selectStreamEvents.all(streamId).map(toClientEvent),
            owner: sql.selectStreamOwner.get(streamId),
          },
        ]),
      );
    },
    clientOwner: async (clientId) => sql.selectClientOwner.get(clientId),
    async pull({ clientId, since, limit, owner }): Promise<PulledPage> {
      // One writer: serverSeq order is commit order. A commit cursor is another server's (PostgreSQL);
      // reading from the start again is safe, because clients apply server events idempotently by eventId.
      const afterSeq = since.kind === 'seq' ? since.serverSeq : 0;
      const rows = sql.selectServerEventsForClient.all({
        clientId,
        afterSeq,
        limit: limit + 1,
        owner: owner ?? null,
      });
      const events = rows.slice(0, limit).map(toServerEvent);
      const last = events.at(-1);
      return {
        events,
        cursor: last ? { kind: 'seq', serverSeq: last.serverSeq } : since,
        hasMore: rows.length > limit,
      };
    },
    async stats(): Promise<ServerStats> {
      const row = sql.selectStats.get();
      if (!row) throw new SqliteStorageError('storage_corrupt', 'Stats query returned nothing');
      const serverEventsByType = Object.fromEntries(
        sql.selectServerEventTypes.all().map(({ type, count }) => [type, count] as const),
      );
      return { ...row, serverEventsByType };
    },
  };
  return reader;
}

/** The storage and its feed (docs/protocol.md, "The feed"), on the same file. */
export type SqliteStorage = ServerStorage & { readonly feed: FeedStorage };

export function createSqliteStorage(options: SqliteStorageOptions): SqliteStorage {
  const clock = options.clock ?? systemClock;
  const db = openSqliteDatabase(options.file);
  // Reads get a connection of their own (WAL lets it read while a push writes), so a pull never waits for
  // the queue of pushes. An in-memory database exists only on its one connection.
  const readDb = options.file === ':memory:' ? db : openSqliteDatabase(options.file);
  const sql = prepareStatements(db);
  const readSql = readDb === db ? sql : prepareStatements(readDb);
  const reader = readerOn(sql);
  const insertOutboxRows = prepareOutboxInsert(db);

  /** Claims `key` for `owner` unless it has one; the primary key refuses a second owner whatever we read. */
  const claim =
    (select: Statements['selectStreamOwner'], insert: Statements['insertStreamOwner'], what: string) =>
    (key: string, owner: string): void => {
      const current = select.get(key);
      if (current === owner) return;
      const taken = () => new StorageConflictError('owner', `${what} ${key} belongs to another user`);
      if (current !== undefined) throw taken();
      try {
        insert.run(key, owner);
      } catch (error) {
        throw isConstraintViolation(error) ? taken() : error;
      }
    };
  const claimStream = claim(sql.selectStreamOwner, sql.insertStreamOwner, 'Stream');
  const claimClient = claim(sql.selectClientOwner, sql.insertClientOwner, 'Client');

  const appendClientEvent = (event: WireClientEvent, clientId: string): void => {
    try {
      sql.insertClientEvent.run(
        event.eventId,
        event.streamId,
        event.version,
        event.type,
        JSON.stringify(event),
        clientId,
        clock.now(),
      );
    } catch (error) {
      if (!isConstraintViolation(error)) throw error;
      // SQLite names only the first index it trips over; the eventId is what the caller must hear about.
      if (sql.selectClientEvent.get(event.eventId) !== undefined) {
        throw new StorageConflictError('eventId', `Event ${event.eventId} is already stored`);
      }
      throw new StorageConflictError(
        'streamVersion',
        `Stream ${event.streamId} cannot take version ${event.version}: taken or not the next`,
      );
    }
  };

  const appendServerEvent = (event: WireServerEvent): void => {
    // Checked before writing: a malformed decision is a caller bug and must throw (rolling the batch back)
    // instead of becoming a row no pull can read.
    if (!v.is(WireServerEventSchema, event)) {
      throw new SqliteStorageError('invalid_server_event', 'A server event does not match protocol v1');
    }
    const stored = {
      eventId: event.eventId,
      streamId: event.streamId,
      type: event.type,
      data: event.data,
      occurredAt: event.occurredAt,
    };
    sql.insertServerEvent.run(
      event.serverSeq,
      event.eventId,
      event.streamId,
      event.type,
      JSON.stringify(stored),
    );
  };

  const write = (changes: StorageWrite): void => {
    if (changes.claims) {
      const { owner } = changes.claims;
      if (changes.claims.client) claimClient(changes.clientId, owner);
      for (const streamId of changes.claims.streams) claimStream(streamId, owner);
    }
    for (const event of changes.clientEvents ?? []) appendClientEvent(event, changes.clientId);
    for (const event of changes.serverEvents ?? []) appendServerEvent(event);
    for (const streamId of changes.linkedStreams ?? [])
      sql.insertClientStream.run(changes.clientId, streamId);
    if (changes.duplicatesAnswered)
      sql.incrementCounter.run('duplicatesAnswered', changes.duplicatesAnswered);
    // The server outbox: one row per event stored here, committed with it or not at all.
    insertOutboxRows(outboxRowsOf(changes), clock.now());
  };

  /** A handle that refuses to be used once its transaction ended (it would write in autocommit). */
  const handleFor = (): { tx: ServerStorageTx; finish(): void } => {
    let open = true;
    let allocatedUpTo = 0;
    const guard =
      <A extends unknown[], R>(fn: (...args: A) => Promise<R>) =>
      async (...args: A): Promise<R> => {
        if (!open) throw new SqliteStorageError('tx_finished', 'Transaction already finished');
        return fn(...args);
      };
    const tx: ServerStorageTx = {
      batchContext: guard(reader.batchContext),
      clientEvents: guard(reader.clientEvents),
      streams: guard(reader.streams),
      clientOwner: guard(reader.clientOwner),
      pull: guard(reader.pull),
      stats: guard(reader.stats),
      // The write lock is held from BEGIN IMMEDIATE: nobody else can take a number until this commits.
      allocateServerSeqs: guard(async (count: number) => {
        const first = Math.max(allocatedUpTo, sql.selectLastServerSeq.get() ?? 0) + 1;
        allocatedUpTo = first + count - 1;
        return Array.from({ length: count }, (_, index) => first + index);
      }),
      write: guard(async (changes: StorageWrite) => write(changes)),
    };
    return {
      tx,
      finish: () => {
        open = false;
      },
    };
  };

  // better-sqlite3 is synchronous and the work awaits: transactions on one connection take turns, so two
  // requests never interleave inside one SQLite transaction. SQLite has one writer anyway.
  const writeTurn = takingTurns();
  const readTurn = readDb === db ? writeTurn : takingTurns();

  let closed = false;
  const ensureOpen = (): void => {
    if (closed) throw new SqliteStorageError('storage_closed', 'The SQLite storage is closed');
  };
  const feed = createSqliteFeed({
    db,
    writeTurn,
    readDb,
    readTurn,
    ensureOpen,
    toClientEvent,
    toServerEvent,
  });

  return {
    transaction(work) {
      return writeTurn(async () => {
        ensureOpen();
        // IMMEDIATE takes the write lock before the batch's first read, so no other writer (another process
        // on the same file) can slip in between this batch's checks and its writes.
        db.exec('BEGIN IMMEDIATE');
        const { tx, finish } = handleFor();
        try {
          const result = await work(tx);
          finish();
          db.exec('COMMIT');
          return result;
        } catch (error) {
          finish();
          if (db.inTransaction) db.exec('ROLLBACK');
          throw error;
        }
      });
    },
    read(work) {
      return readTurn(async () => {
        ensureOpen();
        // One snapshot for every statement of the work, even while pushes commit on the other connection.
        readDb.exec('BEGIN');
        try {
          return await work(readerOn(readSql));
        } finally {
          if (readDb.inTransaction) readDb.exec('COMMIT');
        }
      });
    },
    async check() {
      ensureOpen();
    },
    async close() {
      if (closed) return;
      closed = true;
      // Work already queued finishes first: close must not cut a transaction in half.
      await writeTurn(async () => undefined);
      await readTurn(async () => undefined);
      if (readDb !== db) readDb.close();
      db.close();
    },
    feed,
  };
}
