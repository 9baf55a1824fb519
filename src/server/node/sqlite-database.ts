import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';

/**
 * The reference server's one SQLite file: its settings and its schema, shared by every connection to it
 * (the sync storage, the auth store, the `npm run user` CLI), so whichever opens the file first brings it
 * to the current schema.
 */

export type SqliteStorageErrorCode =
  | 'storage_closed'
  | 'storage_corrupt'
  | 'storage_too_new'
  | 'tx_finished'
  | 'invalid_server_event'
  | 'async_work';

export class SqliteStorageError extends Error {
  constructor(
    readonly code: SqliteStorageErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'SqliteStorageError';
  }
}

// Step n brings a file from schema n - 1 to n; a file from a newer server is refused. Steps only add
// (CREATE ... IF NOT EXISTS), so a step that two processes race to apply is harmless.
const STEPS: readonly string[] = [
  // 1: the sync protocol's events and decisions.
  `
CREATE TABLE IF NOT EXISTS client_events (
  position    INTEGER PRIMARY KEY,
  event_id    TEXT    NOT NULL,
  stream_id   TEXT    NOT NULL,
  version     INTEGER NOT NULL,
  type        TEXT    NOT NULL,
  body        TEXT    NOT NULL,
  client_id   TEXT    NOT NULL,
  received_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS client_events_event_id ON client_events (event_id);
CREATE UNIQUE INDEX IF NOT EXISTS client_events_stream_version ON client_events (stream_id, version);
-- A stream has no holes: only version n + 1 may follow n. A resent eventId is left to its UNIQUE index, so
-- it is reported as the duplicate it is rather than as a version clash.
CREATE TRIGGER IF NOT EXISTS client_events_contiguous BEFORE INSERT ON client_events
WHEN NOT EXISTS (SELECT 1 FROM client_events WHERE event_id = NEW.event_id)
 AND NEW.version <> (SELECT COALESCE(MAX(version), 0) FROM client_events WHERE stream_id = NEW.stream_id) + 1
BEGIN
  SELECT RAISE(ABORT, 'client_events: version is not the stream''s next');
END;

CREATE TABLE IF NOT EXISTS server_events (
  server_seq INTEGER PRIMARY KEY AUTOINCREMENT,
  event_id   TEXT NOT NULL,
  stream_id  TEXT NOT NULL,
  type       TEXT NOT NULL,
  body       TEXT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS server_events_event_id ON server_events (event_id);
CREATE INDEX IF NOT EXISTS server_events_stream ON server_events (stream_id, server_seq);

CREATE TABLE IF NOT EXISTS client_streams (
  client_id TEXT NOT NULL,
  stream_id TEXT NOT NULL,
  PRIMARY KEY (client_id, stream_id)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS counters (
  name  TEXT PRIMARY KEY,
  value INTEGER NOT NULL
) WITHOUT ROWID;
`,
  // 2: users, their sessions and device tokens, failed-login counters, and who owns which stream and client.
  `
CREATE TABLE IF NOT EXISTS users (
  username      TEXT    PRIMARY KEY,
  password_hash TEXT    NOT NULL,
  created_at    INTEGER NOT NULL
) WITHOUT ROWID;

-- Digests only (SHA-256 of the random id): a copy of this file signs nobody in.
CREATE TABLE IF NOT EXISTS sessions (
  id_digest  TEXT    PRIMARY KEY,
  username   TEXT    NOT NULL REFERENCES users (username) ON DELETE CASCADE,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS sessions_username ON sessions (username);
CREATE INDEX IF NOT EXISTS sessions_expires_at ON sessions (expires_at);

CREATE TABLE IF NOT EXISTS device_tokens (
  token_digest TEXT    PRIMARY KEY,
  username     TEXT    NOT NULL REFERENCES users (username) ON DELETE CASCADE,
  created_at   INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS device_tokens_username ON device_tokens (username);

CREATE TABLE IF NOT EXISTS rate_limits (
  key      TEXT    PRIMARY KEY,
  count    INTEGER NOT NULL,
  reset_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS rate_limits_reset_at ON rate_limits (reset_at);

-- By username, not a foreign key: removing a user must not orphan or delete the orders they took.
CREATE TABLE IF NOT EXISTS stream_owners (
  stream_id TEXT PRIMARY KEY,
  username  TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS client_owners (
  client_id TEXT PRIMARY KEY,
  username  TEXT NOT NULL
) WITHOUT ROWID;
`,
  // 3: the server outbox the relay publishes to the broker, the relay's lease, and the consumer services'
  // tables: each one's inbox, stream states and parked messages; the notifications' mail and the analytics'
  // counters (docs/server-outbox.md).
  `
CREATE TABLE IF NOT EXISTS server_outbox (
  position     INTEGER PRIMARY KEY AUTOINCREMENT,
  event_id     TEXT    NOT NULL UNIQUE,
  stream_id    TEXT    NOT NULL,
  subject      TEXT    NOT NULL,
  owner        TEXT,
  body         TEXT    NOT NULL,
  created_at   INTEGER NOT NULL,
  published_at INTEGER
);
CREATE INDEX IF NOT EXISTS server_outbox_unpublished ON server_outbox (position) WHERE published_at IS NULL;
CREATE INDEX IF NOT EXISTS server_outbox_published ON server_outbox (published_at) WHERE published_at IS NOT NULL;

-- The one relay that may publish: whoever holds an unexpired lease (a relay inside npm start, or npm run relay).
CREATE TABLE IF NOT EXISTS relay_lease (
  id         INTEGER PRIMARY KEY CHECK (id = 1),
  holder     TEXT    NOT NULL,
  expires_at INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS consumer_inbox (
  consumer   TEXT    NOT NULL,
  event_id   TEXT    NOT NULL,
  applied_at INTEGER NOT NULL,
  PRIMARY KEY (consumer, event_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS consumer_streams (
  consumer  TEXT NOT NULL,
  stream_id TEXT NOT NULL,
  state     TEXT NOT NULL,
  PRIMARY KEY (consumer, stream_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS consumer_parked (
  consumer   TEXT    NOT NULL,
  sequence   INTEGER NOT NULL,
  subject    TEXT    NOT NULL,
  message_id TEXT,
  body       TEXT    NOT NULL,
  reason     TEXT    NOT NULL,
  attempts   INTEGER NOT NULL,
  parked_at  INTEGER NOT NULL,
  PRIMARY KEY (consumer, sequence)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS mail (
  event_id       TEXT    PRIMARY KEY,
  stream_id      TEXT    NOT NULL,
  owner          TEXT,
  recipient_role TEXT    NOT NULL,
  recipient_name TEXT    NOT NULL,
  subject        TEXT    NOT NULL,
  text           TEXT    NOT NULL,
  created_at     INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS analytics_counters (
  owner   TEXT    NOT NULL,
  counter TEXT    NOT NULL,
  row_id  TEXT    NOT NULL,
  field   TEXT    NOT NULL,
  value   INTEGER NOT NULL,
  PRIMARY KEY (owner, counter, row_id, field)
) WITHOUT ROWID;
`,
  // 4: the feed (docs/protocol.md, "The feed"): one numbered place per stored event, client or server, in the
  // order transactions wrote them (SQLite has one writer, so that is commit order), kept by triggers so no
  // write path has to know; and the devices' names.
  `
CREATE TABLE IF NOT EXISTS feed (
  position  INTEGER PRIMARY KEY AUTOINCREMENT,
  kind      TEXT    NOT NULL CHECK (kind IN ('client', 'server')),
  event_id  TEXT    NOT NULL,
  stream_id TEXT    NOT NULL,
  -- 1 for a stream's first event: a history lists streams by where they began.
  starts    INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS feed_stream ON feed (stream_id, position);
CREATE INDEX IF NOT EXISTS feed_starts ON feed (position) WHERE starts = 1;

-- Events stored before the feed existed get their places in one pass: client events in the order they
-- arrived, and each server event right after the last event of its stream that had arrived when it was
-- decided (its time, a second's slack), so a stream's events keep their order.
INSERT INTO feed (kind, event_id, stream_id, starts)
SELECT kind, event_id, stream_id, starts FROM (
  SELECT 'client' AS kind, event_id, stream_id, version = 1 AS starts, position AS anchor, 0 AS tie,
         position AS seq
  FROM client_events
  UNION ALL
  SELECT 'server', s.event_id, s.stream_id, 0,
         COALESCE(
           (SELECT MAX(c.position) FROM client_events c
            WHERE c.stream_id = s.stream_id
              AND c.received_at <= CAST((julianday(json_extract(s.body, '$.occurredAt')) - 2440587.5)
                                        * 86400000 AS INTEGER) + 1000),
           (SELECT MIN(c.position) FROM client_events c WHERE c.stream_id = s.stream_id),
           0),
         1, s.server_seq
  FROM server_events s
)
WHERE NOT EXISTS (SELECT 1 FROM feed)
ORDER BY anchor, tie, seq;

CREATE TRIGGER IF NOT EXISTS feed_client_events AFTER INSERT ON client_events
BEGIN
  INSERT INTO feed (kind, event_id, stream_id, starts)
  VALUES ('client', NEW.event_id, NEW.stream_id, NEW.version = 1);
END;
CREATE TRIGGER IF NOT EXISTS feed_server_events AFTER INSERT ON server_events
BEGIN
  INSERT INTO feed (kind, event_id, stream_id) VALUES ('server', NEW.event_id, NEW.stream_id);
END;

CREATE TABLE IF NOT EXISTS devices (
  client_id  TEXT    PRIMARY KEY,
  name       TEXT    NOT NULL,
  updated_at INTEGER NOT NULL
) WITHOUT ROWID;
`,
  // 5: the consumer services count each message's failed attempts themselves (the broker's delivery count
  // also counts deliveries the database refused), keep a parked message's owner for its replay, and prune
  // their inboxes by age (docs/server-outbox.md).
  `
CREATE TABLE IF NOT EXISTS consumer_attempts (
  consumer  TEXT    NOT NULL,
  sequence  INTEGER NOT NULL,
  stored_at INTEGER NOT NULL,
  attempts  INTEGER NOT NULL,
  last_at   INTEGER NOT NULL,
  PRIMARY KEY (consumer, sequence)
) WITHOUT ROWID;
ALTER TABLE consumer_parked ADD COLUMN owner TEXT;
CREATE INDEX IF NOT EXISTS consumer_inbox_applied ON consumer_inbox (consumer, applied_at);
`,
  // 6: each stream's outbox rows are numbered 1, 2, 3… in the push's transaction (a counter per stream, as
  // pruning deletes rows), and a consumer service applies a stream's events in that order, keeping the last
  // number it applied with the stream's state (docs/server-outbox.md, "Order"). Rows and states written before
  // have none (NULL, 0).
  `
CREATE TABLE IF NOT EXISTS server_outbox_streams (
  stream_id TEXT    PRIMARY KEY,
  last_seq  INTEGER NOT NULL
) WITHOUT ROWID;
ALTER TABLE server_outbox ADD COLUMN stream_seq INTEGER;
ALTER TABLE consumer_streams ADD COLUMN last_seq INTEGER NOT NULL DEFAULT 0;
`,
];

export const SCHEMA_VERSION = STEPS.length;

/** Opens (creating if missing) the database file with the server's settings, at the current schema. */
export function openSqliteDatabase(file: string): Database.Database {
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
  const db = new Database(file);
  try {
    // WAL lets pulls read while a push writes; FULL fsyncs the WAL at every commit, so an answered push
    // survives a power cut, not only a process crash (NORMAL would only survive the crash).
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    // Another connection (the other store of this process, or `npm run user`) may hold the write lock.
    db.pragma('busy_timeout = 5000');
    // Per connection: removing a user removes their sessions and device tokens in the database itself.
    db.pragma('foreign_keys = ON');
    migrate(db);
    return db;
  } catch (error) {
    db.close();
    throw error;
  }
}

function migrate(db: Database.Database): void {
  const versionOf = (): number => Number(db.pragma('user_version', { simple: true }));
  const refuseNewer = (current: number): void => {
    if (current > SCHEMA_VERSION) {
      throw new SqliteStorageError(
        'storage_too_new',
        `Database schema ${current} was written by a newer server (this one knows ${SCHEMA_VERSION})`,
      );
    }
  };
  refuseNewer(versionOf());
  if (versionOf() === SCHEMA_VERSION) return;
  db.transaction(() => {
    // Read again under the write lock: another process may have migrated meanwhile.
    const current = versionOf();
    refuseNewer(current);
    for (const step of STEPS.slice(current)) db.exec(step);
    db.pragma(`user_version = ${SCHEMA_VERSION}`);
  }).immediate();
}

/** SQLITE_CONSTRAINT_UNIQUE from an index, SQLITE_CONSTRAINT_TRIGGER from a trigger, _FOREIGNKEY, ... */
export function isConstraintViolation(error: unknown): boolean {
  return (
    error instanceof Error &&
    'code' in error &&
    typeof error.code === 'string' &&
    error.code.startsWith('SQLITE_CONSTRAINT')
  );
}
