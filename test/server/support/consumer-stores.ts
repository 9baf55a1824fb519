import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import type { Clock } from '../../../src/outbox/ids';
import type { WireClientEvent } from '../../../src/outbox/protocol/messages';
import type { ConsumerStore, FailedAttempt } from '../../../src/outbox/server';
import { createPgConsumerStore } from '../../../src/server/node/pg-consumer-store';
import { migratePgAt } from '../../../src/server/node/pg-outbox';
import { createSqliteConsumerStore } from '../../../src/server/node/sqlite-consumer-store';
import type { TestPostgres } from './postgres';

/**
 * A consumer service's database, PostgreSQL or the SQLite file, empty and at the current schema: stores opened
 * on it (a new one is a restarted service), the environment `npm run service` reads it from, and plain SQL
 * reads of its tables for a test's assertions.
 */
export interface ConsumerDatabase {
  readonly kind: 'postgresql' | 'sqlite';
  /** DATABASE_URL or DATA_DIR. */
  readonly env: Readonly<Record<string, string>>;
  open(clock: Clock): ConsumerStore;
  /** Rows of a read-only query, every number as a JS number (PostgreSQL answers bigint as text). */
  rows(sql: string): Promise<Record<string, string | number | null>[]>;
  /** Closes every store it opened. */
  close(): Promise<void>;
}

const numeric = (row: Record<string, unknown>) =>
  Object.fromEntries(
    Object.entries(row).map(([key, value]) => [
      key,
      typeof value === 'string' && /^-?\d+$/.test(value) ? Number(value) : (value as string | number | null),
    ]),
  );

export async function pgConsumerDatabase(postgres: TestPostgres): Promise<ConsumerDatabase> {
  const url = await postgres.createDatabase();
  await migratePgAt(url);
  const stores: ConsumerStore[] = [];
  return {
    kind: 'postgresql',
    env: { DATABASE_URL: url },
    open(clock) {
      const store = createPgConsumerStore(
        { url, poolSize: 2, statementTimeoutMs: 10_000, transactionTimeoutMs: 10_000 },
        clock,
      );
      stores.push(store);
      return store;
    },
    async rows(sql) {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        return (await client.query(sql)).rows.map(numeric);
      } finally {
        await client.end();
      }
    },
    async close() {
      await Promise.all(stores.splice(0).map((store) => store.close().catch(() => undefined)));
    },
  };
}

export function sqliteConsumerDatabase(dataDir: string): ConsumerDatabase {
  mkdirSync(dataDir, { recursive: true });
  const file = join(dataDir, 'outpost.sqlite');
  const stores: ConsumerStore[] = [];
  return {
    kind: 'sqlite',
    env: { DATA_DIR: dataDir },
    open(clock) {
      const store = createSqliteConsumerStore(file, clock);
      stores.push(store);
      return store;
    },
    async rows(sql) {
      const db = new Database(file, { readonly: true });
      try {
        return (db.prepare(sql).all() as Record<string, unknown>[]).map(numeric);
      } finally {
        db.close();
      }
    },
    async close() {
      await Promise.all(stores.splice(0).map((store) => store.close().catch(() => undefined)));
    },
  };
}

/** A failed attempt at `event` as the runtime records it: the message the relay would have published. */
export function attemptAt(
  event: WireClientEvent,
  sequence: number,
  fields: Partial<FailedAttempt> = {},
): FailedAttempt {
  return {
    consumer: 'analytics',
    sequence,
    storedAt: 1_000 + sequence,
    subject: `outpost.order.${event.type}`,
    messageId: event.eventId,
    owner: 'alice',
    body: JSON.stringify(event),
    reason: 'a failure since fixed',
    at: 2_000,
    ...fields,
  };
}
