import pg from 'pg';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { uuidv7Generator } from '../../src/outbox/ids';
import type { WireServerEvent } from '../../src/outbox/protocol/messages';
import { formatPullCursor, type PullCursor, START_CURSOR } from '../../src/outbox/server/pull-cursor';
import {
  type ServerStorage,
  type ServerStorageTx,
  StorageUnavailableError,
} from '../../src/outbox/server/storage';
import { runStorageContract } from '../../src/outbox/server/testing';
import type { LogRecord } from '../../src/server/node/log';
import { createPgAuthStore } from '../../src/server/node/pg-auth-store';
import { PG_SCHEMA_VERSION } from '../../src/server/node/pg-database';
import { createPgStorage, type PgStorage } from '../../src/server/node/pg-storage';
import { runAuthStoreContract } from './auth-store-contract';
import { startTestPostgres, type TestPostgres } from './support/postgres';

let postgres: TestPostgres;
beforeAll(async () => {
  postgres = await startTestPostgres();
}, 60_000);
afterAll(async () => {
  await postgres?.stop();
});

const vitestApi = { afterEach, beforeEach, describe, expect, it };

runStorageContract(
  'postgresql',
  async () => {
    const storage = await createPgStorage({ url: await postgres.createSchema(), poolSize: 12 });
    return { storage, cleanup: () => storage.close() };
  },
  vitestApi,
);

describe('PostgreSQL storage', () => {
  const ids = uuidv7Generator();
  const clientId = ids();

  const rejection = (streamId: string, serverSeq: number): WireServerEvent => ({
    eventId: ids(),
    streamId,
    serverSeq,
    occurredAt: '2026-11-26T12:00:01.000Z',
    type: 'OrderRejected',
    data: { code: 'credit_limit', reason: 'Over the limit' },
  });
  /** One server event for `clientId`'s stream, decided in `tx`. */
  async function decideIn(tx: ServerStorageTx, streamId: string): Promise<WireServerEvent> {
    const [seq = 0] = await tx.allocateServerSeqs(1);
    const event = rejection(streamId, seq);
    await tx.write({ clientId, serverEvents: [event], linkedStreams: [streamId] });
    return event;
  }
  const pull = (storage: ServerStorage, since: PullCursor) =>
    storage.read((reader) => reader.pull({ clientId, since, limit: 100 }));

  /** A transaction that stays open, having written, until `commit()` is called. */
  function holdOpen(storage: ServerStorage, streamId: string) {
    let commit: () => void = () => undefined;
    const released = new Promise<void>((resolve) => {
      commit = resolve;
    });
    let written: (event: WireServerEvent) => void = () => undefined;
    const wrote = new Promise<WireServerEvent>((resolve) => {
      written = resolve;
    });
    const done = storage.transaction(async (tx) => {
      const event = await decideIn(tx, streamId);
      written(event);
      await released;
      return event;
    });
    return { wrote, commit, done };
  }

  it('never lets a pull pass an event whose transaction is still open, and delivers it once it commits', async () => {
    const storage = await createPgStorage({ url: await postgres.createSchema() });
    const stream = `order-${ids()}`;
    const before = await storage.transaction((tx) => decideIn(tx, stream));
    const first = await pull(storage, START_CURSOR);
    expect(first.events).toEqual([before]);

    // A takes its transaction id first and stays open; B starts later, commits, and a reader pulls between.
    // B decides on another stream: one stream's writes wait for each other (its outbox counter is locked).
    const held = holdOpen(storage, stream);
    const heldEvent = await held.wrote;
    const later = await storage.transaction((tx) => decideIn(tx, `order-${ids()}`));
    expect(later.serverSeq).toBeGreaterThan(heldEvent.serverSeq);

    const between = await pull(storage, first.cursor);
    // B committed, but moving the cursor past it would skip A for ever: the reader waits instead.
    expect(between).toEqual({ events: [], cursor: first.cursor, hasMore: false });

    held.commit();
    await held.done;
    const after = await pull(storage, between.cursor);
    expect(after.events).toEqual([heldEvent, later]);
    expect(formatPullCursor(after.cursor)).toMatch(/^t\d+\.\d+$/);
    await storage.close();
  });

  it('reports a transaction held open past the bound in stats and in one log line, and forgets it once it ends', async () => {
    const logs: LogRecord[] = [];
    const storage = await createPgStorage({
      url: await postgres.createSchema(),
      openTransactionBoundMs: 200,
      openTransactionSampleMs: 60_000,
      logger: (record) => logs.push(record),
    });
    const held = holdOpen(storage, `order-${ids()}`);
    await held.wrote;
    await storage.sampleOpenTransactions();
    await new Promise((wait) => setTimeout(wait, 300));
    await storage.sampleOpenTransactions();
    await storage.sampleOpenTransactions();
    const during = await storage.read((reader) => reader.stats());
    expect(during.oldestOpenTransactionMs).toBeGreaterThanOrEqual(200);
    expect(logs.filter((record) => record.msg.startsWith('a transaction has been open longer'))).toEqual([
      expect.objectContaining({ level: 'warn', boundMs: 200, openMs: expect.any(Number) }),
    ]);

    held.commit();
    await held.done;
    await storage.sampleOpenTransactions();
    await expect(storage.read((reader) => reader.stats())).resolves.toMatchObject({
      oldestOpenTransactionMs: 0,
    });
    await storage.close();
  });

  it('brings one database to the current schema once when two instances start at the same moment', async () => {
    const url = await postgres.createDatabase();
    const storages = await Promise.all([createPgStorage({ url }), createPgStorage({ url })]);
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    const { rows } = await client.query('SELECT version FROM schema_version');
    await client.end();
    expect(rows).toEqual([{ version: PG_SCHEMA_VERSION }]);
    await Promise.all(storages.map((storage) => storage.close()));
  });

  it('refuses to start on a database written by a newer server', async () => {
    const url = await postgres.createDatabase();
    await (await createPgStorage({ url })).close();
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    await client.query('UPDATE schema_version SET version = 99');
    await client.end();
    await expect(createPgStorage({ url })).rejects.toMatchObject({ code: 'storage_too_new' });
  });

  it('answers StorageUnavailableError while PostgreSQL is down, and serves again once it is back, by itself', async () => {
    const cluster = postgres.cluster;
    if (!cluster) throw new Error('this test stops its own cluster; unset TEST_DATABASE_URL');
    const storage: PgStorage = await createPgStorage({ url: await postgres.createSchema() });
    const stream = `order-${ids()}`;
    await storage.transaction((tx) => decideIn(tx, stream));

    await cluster.stop('immediate');
    await expect(storage.check()).rejects.toBeInstanceOf(StorageUnavailableError);
    await expect(storage.transaction((tx) => decideIn(tx, stream))).rejects.toBeInstanceOf(
      StorageUnavailableError,
    );
    await expect(pull(storage, START_CURSOR)).rejects.toBeInstanceOf(StorageUnavailableError);

    await cluster.start();
    await storage.check();
    await storage.transaction((tx) => decideIn(tx, stream));
    expect((await pull(storage, START_CURSOR)).events).toHaveLength(2);
    await storage.close();
  });
});

runAuthStoreContract('postgresql', async () => {
  const store = await createPgAuthStore({ url: await postgres.createSchema() });
  return { store, cleanup: () => store.close() };
});
