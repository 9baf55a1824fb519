import pg from 'pg';
import { StorageConflictError, StorageUnavailableError } from '../../outbox/server';

/**
 * The PostgreSQL database several server instances share: its connection pool with the settings that bound
 * every session, the schema migrations, and how a driver error reads to the protocol (conflict, out of
 * reach, or a real failure).
 */

export interface PgSettings {
  /** `postgres://user:password@host:port/database` (DATABASE_URL). */
  readonly url: string;
  /** Connections this instance may hold (DATABASE_POOL_SIZE). */
  readonly poolSize: number;
  /** PostgreSQL's `statement_timeout`: a statement running longer is cancelled. */
  readonly statementTimeoutMs: number;
  /**
   * A transaction may last at most this long: checked before each statement, and the session's
   * `idle_in_transaction_session_timeout`, so a stalled instance cannot hold pulls back for longer.
   */
  readonly transactionTimeoutMs: number;
}

export const DEFAULT_PG_SETTINGS = {
  poolSize: 10,
  statementTimeoutMs: 10_000,
  transactionTimeoutMs: 15_000,
} as const;

export type PgStorageErrorCode = 'storage_closed' | 'storage_corrupt' | 'storage_too_new' | 'tx_finished';

export class PgStorageError extends Error {
  constructor(
    readonly code: PgStorageErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'PgStorageError';
  }
}

// int8 (bigint) comes back as a string by default: every one here (counts, serverSeq, position) is far below
// 2^53, and a row that is not fails loudly in the storage's checks rather than being rounded.
const types = {
  getTypeParser: ((oid: number, format?: string) =>
    oid === pg.types.builtins.INT8
      ? (text: string) => Number(text)
      : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
};

export function createPgPool(settings: PgSettings, onIdleError: (error: Error) => void): pg.Pool {
  const pool = new pg.Pool({
    connectionString: settings.url,
    max: settings.poolSize,
    // A database that does not answer must turn into a quick 503, not a request that hangs.
    connectionTimeoutMillis: 5_000,
    idleTimeoutMillis: 30_000,
    application_name: 'outpost',
    statement_timeout: settings.statementTimeoutMs,
    idle_in_transaction_session_timeout: settings.transactionTimeoutMs,
    keepAlive: true,
    types,
  });
  // An idle connection dropped by the server (a restart) is reported here; without a listener it would
  // crash the process. The pool has already discarded it and opens a new one on the next request.
  pool.on('error', onIdleError);
  return pool;
}

const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ECONNABORTED',
  'EAI_AGAIN',
  // Cancelled by statement_timeout, or ended by idle_in_transaction_session_timeout: overloaded, not broken.
  '57014',
  '25P03',
]);
const UNREACHABLE_MESSAGES =
  /Connection terminated|timeout exceeded when trying to connect|connection error and is not queryable|terminating connection|the database system is (starting up|shutting down|in recovery mode)/i;

/** The database is out of reach (down, restarting, out of connections) rather than refusing this request. */
export function isUnreachable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string') {
    // 08: connection exception; 53: insufficient resources (too many connections); 57P0x: shutdown, crash.
    if (/^(08|53|57P0)/.test(code) || UNREACHABLE_CODES.has(code)) return true;
  }
  return UNREACHABLE_MESSAGES.test(error.message);
}

/** A driver error as the storage port speaks it. */
export function translatePgError(error: unknown): unknown {
  if (error instanceof StorageConflictError || error instanceof StorageUnavailableError) return error;
  if (isUnreachable(error)) {
    const message = error instanceof Error ? error.message : String(error);
    return new StorageUnavailableError(`PostgreSQL is out of reach: ${message}`, { cause: error });
  }
  const code = error instanceof Error ? (error as { code?: unknown }).code : undefined;
  // 40P01 deadlock, 40001 serialization failure: the database gave this transaction up for another.
  if (code === '40P01' || code === '40001') {
    return new StorageConflictError('contention', 'Another transaction held what this one needed');
  }
  return error;
}

// Step n brings the database from schema n - 1 to n. Each runs in the transaction that records it, under an
// advisory lock, so instances starting at the same moment apply it exactly once.
const STEPS: readonly string[] = [
  // 1: the sync protocol's events and decisions, with commit-safe positions (docs/decisions.md, 11).
  `
CREATE SEQUENCE server_seq AS bigint;
-- One sequence for client and server events: a feed may read both tables in one (transaction_id, position) order.
CREATE SEQUENCE event_position AS bigint;

CREATE TABLE client_events (
  position       bigint  PRIMARY KEY DEFAULT nextval('event_position'),
  transaction_id xid8    NOT NULL DEFAULT pg_current_xact_id(),
  event_id       text    NOT NULL UNIQUE,
  stream_id      text    NOT NULL,
  version        integer NOT NULL CHECK (version >= 1),
  type           text    NOT NULL,
  body           text    NOT NULL,
  client_id      text    NOT NULL,
  received_at    bigint  NOT NULL,
  UNIQUE (stream_id, version)
);
CREATE INDEX client_events_commit_order ON client_events (transaction_id, position);

-- A stream has no holes: each row inserted needs version n - 1 of its stream visible (committed, or this
-- transaction's, this statement's included). Checked once per statement over the rows it inserted, which
-- costs a quarter of a row-by-row trigger on a batch of 100.
CREATE FUNCTION client_events_contiguous() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (
    SELECT 1 FROM inserted n
    WHERE n.version > 1
      AND NOT EXISTS (SELECT 1 FROM client_events c WHERE c.stream_id = n.stream_id AND c.version = n.version - 1)
  ) THEN
    RAISE EXCEPTION 'a stream cannot take a version that is not its next'
      USING ERRCODE = 'check_violation', CONSTRAINT = 'client_events_contiguous';
  END IF;
  RETURN NULL;
END
$$;
CREATE TRIGGER client_events_contiguous AFTER INSERT ON client_events
  REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE FUNCTION client_events_contiguous();

CREATE TABLE server_events (
  server_seq     bigint PRIMARY KEY,
  position       bigint NOT NULL DEFAULT nextval('event_position'),
  transaction_id xid8   NOT NULL DEFAULT pg_current_xact_id(),
  event_id       text   NOT NULL UNIQUE,
  stream_id      text   NOT NULL,
  type           text   NOT NULL,
  body           text   NOT NULL
);
CREATE INDEX server_events_commit_order ON server_events (transaction_id, position);
CREATE INDEX server_events_stream ON server_events (stream_id);

CREATE TABLE client_streams (
  client_id text NOT NULL,
  stream_id text NOT NULL,
  PRIMARY KEY (client_id, stream_id)
);

-- Spread over slots, so concurrent pushes that count duplicates do not queue on one row.
CREATE TABLE counters (
  name  text     NOT NULL,
  slot  smallint NOT NULL,
  value bigint   NOT NULL,
  PRIMARY KEY (name, slot)
);

CREATE TABLE stream_owners (
  stream_id text PRIMARY KEY,
  username  text NOT NULL
);
CREATE TABLE client_owners (
  client_id text PRIMARY KEY,
  username  text NOT NULL
);
`,
  // 2: users, their sessions and device tokens, and failed-login counters, shared by every instance.
  `
CREATE TABLE users (
  username      text   PRIMARY KEY,
  password_hash text   NOT NULL,
  created_at    bigint NOT NULL
);
-- Digests only (SHA-256 of the random id): a copy of the database signs nobody in.
CREATE TABLE sessions (
  id_digest  text   PRIMARY KEY,
  username   text   NOT NULL REFERENCES users (username) ON DELETE CASCADE,
  created_at bigint NOT NULL,
  expires_at bigint NOT NULL
);
CREATE INDEX sessions_username ON sessions (username);
CREATE INDEX sessions_expires_at ON sessions (expires_at);
CREATE TABLE device_tokens (
  token_digest text   PRIMARY KEY,
  username     text   NOT NULL REFERENCES users (username) ON DELETE CASCADE,
  created_at   bigint NOT NULL
);
CREATE INDEX device_tokens_username ON device_tokens (username);
CREATE TABLE rate_limits (
  key      text    PRIMARY KEY,
  count    integer NOT NULL,
  reset_at bigint  NOT NULL
);
CREATE INDEX rate_limits_reset_at ON rate_limits (reset_at);
`,
  // 3: the server outbox the relay publishes to the broker, and the consumer services' tables: each one's
  // inbox, stream states and parked messages; the notifications' mail and the analytics' counters
  // (docs/server-outbox.md).
  `
CREATE TABLE server_outbox (
  position     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  event_id     text   NOT NULL UNIQUE,
  stream_id    text   NOT NULL,
  subject      text   NOT NULL,
  owner        text,
  body         text   NOT NULL,
  created_at   bigint NOT NULL,
  published_at bigint
);
-- The relay reads the unpublished rows in position order; stats and pruning read the published ones by time.
CREATE INDEX server_outbox_unpublished ON server_outbox (position) WHERE published_at IS NULL;
CREATE INDEX server_outbox_published ON server_outbox (published_at) WHERE published_at IS NOT NULL;

CREATE TABLE consumer_inbox (
  consumer   text   NOT NULL,
  event_id   text   NOT NULL,
  applied_at bigint NOT NULL,
  PRIMARY KEY (consumer, event_id)
);
CREATE TABLE consumer_streams (
  consumer  text NOT NULL,
  stream_id text NOT NULL,
  state     text NOT NULL,
  PRIMARY KEY (consumer, stream_id)
);
CREATE TABLE consumer_parked (
  consumer   text    NOT NULL,
  sequence   bigint  NOT NULL,
  subject    text    NOT NULL,
  message_id text,
  body       text    NOT NULL,
  reason     text    NOT NULL,
  attempts   integer NOT NULL,
  parked_at  bigint  NOT NULL,
  PRIMARY KEY (consumer, sequence)
);
-- One message per event at most, whatever happens to the inbox.
CREATE TABLE mail (
  event_id       text   PRIMARY KEY,
  stream_id      text   NOT NULL,
  owner          text,
  recipient_role text   NOT NULL,
  recipient_name text   NOT NULL,
  subject        text   NOT NULL,
  text           text   NOT NULL,
  created_at     bigint NOT NULL
);
-- '' for no owner (AUTH=none), so the key has no NULL in it.
CREATE TABLE analytics_counters (
  owner   text   NOT NULL,
  counter text   NOT NULL,
  row_id  text   NOT NULL,
  field   text   NOT NULL,
  value   bigint NOT NULL,
  PRIMARY KEY (owner, counter, row_id, field)
);
`,
  // 4: the feed (docs/protocol.md, "The feed") reads both event tables in their commit-safe order already;
  // a history lists streams by where they began, newest first, and names each device.
  `
CREATE INDEX client_events_stream_starts ON client_events (transaction_id, position) WHERE version = 1;
CREATE TABLE devices (
  client_id  text   PRIMARY KEY,
  name       text   NOT NULL,
  updated_at bigint NOT NULL
);
`,
  // 5: the consumer services count each message's failed attempts themselves (the broker's delivery count
  // also counts deliveries the database refused), keep a parked message's owner for its replay, and prune
  // their inboxes by age (docs/server-outbox.md).
  `
CREATE TABLE consumer_attempts (
  consumer  text    NOT NULL,
  sequence  bigint  NOT NULL,
  stored_at bigint  NOT NULL,
  attempts  integer NOT NULL,
  last_at   bigint  NOT NULL,
  PRIMARY KEY (consumer, sequence)
);
ALTER TABLE consumer_parked ADD COLUMN owner text;
CREATE INDEX consumer_inbox_applied ON consumer_inbox (consumer, applied_at);
`,
  // 6: each stream's outbox rows are numbered 1, 2, 3… in the push's transaction (a counter per stream, as
  // pruning deletes rows), and a consumer service applies a stream's events in that order, keeping the last
  // number it applied with the stream's state (docs/server-outbox.md, "Order"). Rows and states written before
  // have none (NULL, 0).
  `
CREATE TABLE server_outbox_streams (
  stream_id text   PRIMARY KEY,
  last_seq  bigint NOT NULL
);
ALTER TABLE server_outbox ADD COLUMN stream_seq bigint;
ALTER TABLE consumer_streams ADD COLUMN last_seq bigint NOT NULL DEFAULT 0;
`,
];

export const PG_SCHEMA_VERSION = STEPS.length;
// Any constant shared by every instance of this server; it names the lock, nothing else.
const MIGRATION_LOCK = 7_301_905_119;

/** Brings the database to the current schema; safe when several instances start at the same moment. */
export async function migratePg(pool: pg.Pool): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    await client.query('CREATE TABLE IF NOT EXISTS schema_version (version integer NOT NULL)');
    const found = await client.query<{ version: number }>('SELECT version FROM schema_version');
    const current = found.rows[0]?.version ?? 0;
    if (current > PG_SCHEMA_VERSION) {
      throw new PgStorageError(
        'storage_too_new',
        `Database schema ${current} was written by a newer server (this one knows ${PG_SCHEMA_VERSION})`,
      );
    }
    for (const step of STEPS.slice(current)) await client.query(step);
    if (found.rows.length === 0) {
      await client.query('INSERT INTO schema_version (version) VALUES ($1)', [PG_SCHEMA_VERSION]);
    } else {
      await client.query('UPDATE schema_version SET version = $1', [PG_SCHEMA_VERSION]);
    }
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw translatePgError(error);
  } finally {
    client.release();
  }
}
