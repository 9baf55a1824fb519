import * as v from 'valibot';
import { type Clock, systemClock } from '../../outbox/ids';
import {
  type WireClientEvent,
  WireClientEventSchema,
  type WireServerEvent,
  WireServerEventSchema,
} from '../../outbox/protocol/messages';
import {
  type CounterName,
  type ServerStats,
  type ServerStorage,
  type ServerStorageReader,
  type ServerStorageTx,
  StorageConflictError,
} from '../../outbox/server/storage';
import { isConstraintViolation, openSqliteDatabase, SqliteStorageError } from './sqlite-database';

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

export function createSqliteStorage(options: SqliteStorageOptions): ServerStorage {
  const clock = options.clock ?? systemClock;
  const db = openSqliteDatabase(options.file);

  const insertClientEvent = db.prepare<[string, string, number, string, string, string, number]>(
    `INSERT INTO client_events (event_id, stream_id, version, type, body, client_id, received_at)
     VALUES (?, ?, ?, ?, ?, ?, ?)`,
  );
  const selectClientEvent = db
    .prepare<[string], string>('SELECT body FROM client_events WHERE event_id = ?')
    .pluck();
  const selectStreamEvents = db
    .prepare<[string], string>('SELECT body FROM client_events WHERE stream_id = ? ORDER BY version')
    .pluck();
  const selectStreamVersion = db
    .prepare<[string], number>('SELECT COALESCE(MAX(version), 0) FROM client_events WHERE stream_id = ?')
    .pluck();
  // AUTOINCREMENT hands out max(sqlite_sequence, MAX(rowid)) + 1; both roll back with the transaction.
  const selectLastServerSeq = db
    .prepare<[], number>(
      `SELECT MAX(
         COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'server_events'), 0),
         COALESCE((SELECT MAX(server_seq) FROM server_events), 0))`,
    )
    .pluck();
  const insertServerEvent = db.prepare<[number, string, string, string, string]>(
    'INSERT INTO server_events (server_seq, event_id, stream_id, type, body) VALUES (?, ?, ?, ?, ?)',
  );
  const selectServerEventsForClient = db.prepare<
    [{ clientId: string; afterSeq: number; limit: number; owner: string | null }],
    ServerEventRow
  >(
    `SELECT s.server_seq, s.body FROM server_events s
     WHERE s.server_seq > @afterSeq
       AND EXISTS (SELECT 1 FROM client_streams c WHERE c.client_id = @clientId AND c.stream_id = s.stream_id)
       AND (@owner IS NULL
            OR EXISTS (SELECT 1 FROM stream_owners o WHERE o.stream_id = s.stream_id AND o.username = @owner))
     ORDER BY s.server_seq LIMIT @limit`,
  );
  const selectStreamOwner = db
    .prepare<[string], string>('SELECT username FROM stream_owners WHERE stream_id = ?')
    .pluck();
  const insertStreamOwner = db.prepare<[string, string]>(
    'INSERT INTO stream_owners (stream_id, username) VALUES (?, ?)',
  );
  const selectClientOwner = db
    .prepare<[string], string>('SELECT username FROM client_owners WHERE client_id = ?')
    .pluck();
  const insertClientOwner = db.prepare<[string, string]>(
    'INSERT INTO client_owners (client_id, username) VALUES (?, ?)',
  );
  /** Claims `key` for `owner` unless it has one; the primary key refuses a second owner whatever we read. */
  const claim =
    (select: typeof selectStreamOwner, insert: typeof insertStreamOwner, what: string) =>
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
  const insertClientStream = db.prepare<[string, string]>(
    'INSERT OR IGNORE INTO client_streams (client_id, stream_id) VALUES (?, ?)',
  );
  const incrementCounter = db.prepare<[string, number]>(
    `INSERT INTO counters (name, value) VALUES (?, ?)
     ON CONFLICT (name) DO UPDATE SET value = value + excluded.value`,
  );
  const selectStats = db.prepare<[], StatsRow>(
    `SELECT
       (SELECT COUNT(*) FROM client_events) AS eventsStored,
       (SELECT COUNT(DISTINCT stream_id) FROM client_events) AS streams,
       (SELECT COUNT(*) FROM server_events) AS serverEvents,
       (SELECT COALESCE(SUM(value), 0) FROM counters WHERE name = 'duplicatesAnswered') AS duplicatesAnswered`,
  );
  const selectServerEventTypes = db.prepare<[], { type: string; count: number }>(
    'SELECT type, COUNT(*) AS count FROM server_events GROUP BY type ORDER BY type',
  );

  const reader: ServerStorageReader = {
    findClientEvent(eventId) {
      const body = selectClientEvent.get(eventId);
      return body === undefined ? undefined : toClientEvent(body);
    },
    streamEvents(streamId) {
      return selectStreamEvents.all(streamId).map(toClientEvent);
    },
    streamVersion(streamId) {
      return selectStreamVersion.get(streamId) ?? 0;
    },
    lastServerSeq() {
      return selectLastServerSeq.get() ?? 0;
    },
    serverEventsForClient(clientId, afterSeq, limit, owner) {
      return selectServerEventsForClient
        .all({ clientId, afterSeq, limit, owner: owner ?? null })
        .map(toServerEvent);
    },
    streamOwner: (streamId) => selectStreamOwner.get(streamId),
    clientOwner: (clientId) => selectClientOwner.get(clientId),
    stats(): ServerStats {
      const row = selectStats.get();
      if (!row) throw new SqliteStorageError('storage_corrupt', 'Stats query returned nothing');
      const serverEventsByType = Object.fromEntries(
        selectServerEventTypes.all().map(({ type, count }) => [type, count] as const),
      );
      return { ...row, serverEventsByType };
    },
  };

  const writer = {
    appendClientEvent(event: WireClientEvent, clientId: string): void {
      try {
        insertClientEvent.run(
          event.eventId,
          event.streamId,
          event.version,
          event.type,
          JSON.stringify(event),
          clientId,
          clock.now(),
        );
      } catch (error) {
        // A failed INSERT aborts only its statement: the caller decides whether the whole batch rolls back.
        if (!isConstraintViolation(error)) throw error;
        // SQLite names only the first index it trips over; the eventId is what the caller must hear about.
        if (selectClientEvent.get(event.eventId) !== undefined) {
          throw new StorageConflictError('eventId', `Event ${event.eventId} is already stored`);
        }
        throw new StorageConflictError(
          'streamVersion',
          `Stream ${event.streamId} cannot take version ${event.version}: taken or not the next`,
        );
      }
    },
    appendServerEvent(event: Omit<WireServerEvent, 'serverSeq'>): WireServerEvent {
      const stored = {
        eventId: event.eventId,
        streamId: event.streamId,
        type: event.type,
        data: event.data,
        occurredAt: event.occurredAt,
      };
      // Checked before writing, with the number it is about to get: a malformed decision is a caller bug and
      // must throw (rolling the batch back) instead of becoming a row no pull can read.
      const serverSeq = reader.lastServerSeq() + 1;
      const parsed = v.safeParse(WireServerEventSchema, { ...stored, serverSeq });
      if (!parsed.success) {
        throw new SqliteStorageError(
          'invalid_server_event',
          `Server event ${event.eventId} does not match protocol v1`,
        );
      }
      insertServerEvent.run(serverSeq, event.eventId, event.streamId, event.type, JSON.stringify(stored));
      return parsed.output;
    },
    linkClientToStream(clientId: string, streamId: string): void {
      insertClientStream.run(clientId, streamId);
    },
    increment(counter: CounterName, by = 1): void {
      incrementCounter.run(counter, by);
    },
    claimStream: claim(selectStreamOwner, insertStreamOwner, 'Stream'),
    claimClient: claim(selectClientOwner, insertClientOwner, 'Client'),
  };

  // better-sqlite3 commits when the callback returns and rolls back when it throws (and refuses a callback
  // that returns a promise). Its transaction wrapper is not generic, so the result travels in a box.
  const inTransaction = db.transaction((fn: () => void): void => fn());
  const run = <T>(mode: 'immediate' | 'deferred', work: () => T): T => {
    let box: { readonly value: T } | undefined;
    inTransaction[mode](() => {
      const value = work();
      // Work that awaited would write after COMMIT, in autocommit: throwing here rolls back what it did so far.
      if (value instanceof Promise) {
        value.catch(() => undefined);
        throw new SqliteStorageError(
          'async_work',
          'Transaction work must be synchronous; it returned a promise',
        );
      }
      box = { value };
    });
    if (!box) throw new SqliteStorageError('storage_corrupt', 'Transaction ended without a result');
    return box.value;
  };

  const writeTx = <T>(work: (tx: ServerStorageTx) => T): T => {
    let open = true;
    const guard =
      <A extends unknown[], R>(fn: (...args: A) => R) =>
      (...args: A): R => {
        // A callback that awaited would write outside the transaction, in autocommit: refuse instead.
        if (!open)
          throw new SqliteStorageError('tx_finished', 'Transaction already finished; do not await in work');
        return fn(...args);
      };
    const tx: ServerStorageTx = {
      findClientEvent: guard(reader.findClientEvent),
      streamEvents: guard(reader.streamEvents),
      streamVersion: guard(reader.streamVersion),
      lastServerSeq: guard(reader.lastServerSeq),
      serverEventsForClient: guard(reader.serverEventsForClient),
      streamOwner: guard(reader.streamOwner),
      clientOwner: guard(reader.clientOwner),
      stats: guard(reader.stats),
      appendClientEvent: guard(writer.appendClientEvent),
      appendServerEvent: guard(writer.appendServerEvent),
      linkClientToStream: guard(writer.linkClientToStream),
      increment: guard(writer.increment),
      claimStream: guard(writer.claimStream),
      claimClient: guard(writer.claimClient),
    };
    try {
      return work(tx);
    } finally {
      open = false;
    }
  };

  let closed = false;
  const ensureOpen = (): void => {
    if (closed) throw new SqliteStorageError('storage_closed', 'The SQLite storage is closed');
  };

  return {
    async transaction(work) {
      ensureOpen();
      // IMMEDIATE takes the write lock before the batch's first read, so no other writer (another process
      // on the same file) can slip in between this batch's checks and its writes.
      return run('immediate', () => writeTx(work));
    },
    async read(work) {
      ensureOpen();
      return run('deferred', () => work(reader));
    },
    async close() {
      if (closed) return;
      closed = true;
      db.close();
    },
  };
}
