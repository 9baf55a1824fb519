import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { uuidv7Generator } from '../../src/outbox/ids';
import type { WireClientEvent } from '../../src/outbox/protocol/messages';
import { parsePullCursor, START_CURSOR } from '../../src/outbox/server/pull-cursor';
import { type ServerStorageTx, StorageConflictError } from '../../src/outbox/server/storage';
import { runStorageContract } from '../../src/outbox/server/testing';
import { SCHEMA_VERSION, SqliteStorageError } from '../../src/server/node/sqlite-database';
import { createSqliteStorage } from '../../src/server/node/sqlite-storage';

const root = mkdtempSync(join(tmpdir(), 'outpost-sqlite-'));
const freshFile = (): string => join(mkdtempSync(join(root, 'db-')), 'outpost.sqlite');

afterAll(() => rmSync(root, { recursive: true, force: true }));

const vitestApi = { afterEach, beforeEach, describe, expect, it };

runStorageContract(
  'sqlite',
  async () => {
    const storage = createSqliteStorage({ file: freshFile() });
    return { storage, cleanup: () => storage.close() };
  },
  vitestApi,
);

describe('SQLite storage', () => {
  const ids = uuidv7Generator();
  const client = ids();

  function created(streamId = `order-${ids()}`): WireClientEvent {
    return {
      eventId: ids(),
      streamId,
      version: 1,
      schemaVersion: 1,
      type: 'OrderCreated',
      data: { orderId: streamId.slice('order-'.length), customerName: 'Grace Hopper', currency: 'USD' },
      metadata: {
        commandId: ids(),
        correlationId: ids(),
        causationId: null,
        occurredAt: '2026-11-26T12:00:00.000Z',
        clientId: client,
      },
    };
  }

  it('keeps every committed write after the file is closed and opened again', async () => {
    const file = freshFile();
    const event = created();
    const first = createSqliteStorage({ file });
    await first.transaction(async (tx) => {
      const [serverSeq = 0] = await tx.allocateServerSeqs(1);
      await tx.write({
        clientId: client,
        clientEvents: [event],
        linkedStreams: [event.streamId],
        serverEvents: [
          {
            eventId: ids(),
            streamId: event.streamId,
            serverSeq,
            occurredAt: '2026-11-26T12:00:01.000Z',
            type: 'OrderConfirmed',
            data: { orderNumber: 'SO-000001', confirmedAt: '2026-11-26T12:00:01.000Z' },
          },
        ],
      });
    });
    await first.close();

    const reopened = createSqliteStorage({ file });
    const seen = await reopened.read(async (reader) => ({
      found: (await reader.clientEvents([event.eventId])).get(event.eventId),
      pulled: (await reader.pull({ clientId: client, since: START_CURSOR, limit: 10 })).events.map(
        (e) => e.serverSeq,
      ),
    }));
    const next = await reopened.transaction((tx) => tx.allocateServerSeqs(1));
    await reopened.close();
    expect(seen).toEqual({ found: event, pulled: [1] });
    expect(next).toEqual([2]);
  });

  it('refuses a duplicate through the database itself, even from another connection to the file', async () => {
    const file = freshFile();
    const event = created();
    const one = createSqliteStorage({ file });
    const two = createSqliteStorage({ file });
    await one.transaction((tx) => tx.write({ clientId: client, clientEvents: [event] }));
    const failure = two.transaction((tx) => tx.write({ clientId: client, clientEvents: [event] }));
    await expect(failure).rejects.toBeInstanceOf(StorageConflictError);
    await expect(failure).rejects.toMatchObject({ constraint: 'eventId' });
    await one.close();
    await two.close();

    const raw = new Database(file, { readonly: true });
    const count = raw
      .prepare('SELECT COUNT(*) AS n FROM client_events WHERE event_id = ?')
      .get(event.eventId);
    raw.close();
    expect(count).toEqual({ n: 1 });
  });

  it('refuses writes from work that kept its transaction handle past the end of the transaction', async () => {
    const storage = createSqliteStorage({ file: freshFile() });
    let leaked: ServerStorageTx | undefined;
    await storage.transaction(async (tx) => {
      leaked = tx;
    });
    const late = created();
    await expect(leaked?.write({ clientId: client, clientEvents: [late] })).rejects.toMatchObject({
      code: 'tx_finished',
    });
    await expect(
      storage.read(async (reader) => (await reader.clientEvents([late.eventId])).size),
    ).resolves.toBe(0);
    await storage.close();
  });

  it('runs the awaited steps of concurrent transactions one transaction after another', async () => {
    const storage = createSqliteStorage({ file: freshFile() });
    const steps: string[] = [];
    const work = (name: string) => async (tx: ServerStorageTx) => {
      steps.push(`${name} begins`);
      await tx.streams([`order-${ids()}`]);
      await new Promise((wait) => setTimeout(wait, 5));
      await tx.write({ clientId: client, clientEvents: [created()] });
      steps.push(`${name} ends`);
    };
    await Promise.all([storage.transaction(work('one')), storage.transaction(work('two'))]);
    expect(steps).toEqual(['one begins', 'one ends', 'two begins', 'two ends']);
    await storage.close();
  });

  it("reads another server's commit cursor from the start again, which a client's idempotent apply makes safe", async () => {
    const storage = createSqliteStorage({ file: freshFile() });
    const streamId = `order-${ids()}`;
    await storage.transaction(async (tx) => {
      const [serverSeq = 0] = await tx.allocateServerSeqs(1);
      await tx.write({
        clientId: client,
        linkedStreams: [streamId],
        serverEvents: [
          {
            eventId: ids(),
            streamId,
            serverSeq,
            occurredAt: '2026-11-26T12:00:01.000Z',
            type: 'OrderRejected',
            data: { code: 'credit_limit', reason: 'Over the limit' },
          },
        ],
      });
    });
    const since = parsePullCursor('t4821.9077');
    if (since === null) throw new Error('a commit cursor parses');
    const page = await storage.read((reader) => reader.pull({ clientId: client, since, limit: 10 }));
    expect(page.events.map((event) => event.serverSeq)).toEqual([1]);
    expect(page.cursor).toEqual({ kind: 'seq', serverSeq: 1 });
    await storage.close();
  });

  it('answers with a typed error once closed', async () => {
    const storage = createSqliteStorage({ file: freshFile() });
    await storage.close();
    await expect(storage.read((reader) => reader.stats())).rejects.toMatchObject({ code: 'storage_closed' });
    await expect(storage.transaction(async () => 1)).rejects.toBeInstanceOf(SqliteStorageError);
  });

  it('brings a schema 1 file (before users) to the current schema, keeping what it held', async () => {
    const file = freshFile();
    const event = created();
    const raw = new Database(file);
    // Schema 1 as the previous release created it, holding one event.
    raw.exec(`
      CREATE TABLE client_events (position INTEGER PRIMARY KEY, event_id TEXT NOT NULL, stream_id TEXT NOT NULL,
        version INTEGER NOT NULL, type TEXT NOT NULL, body TEXT NOT NULL, client_id TEXT NOT NULL,
        received_at INTEGER NOT NULL);
      CREATE UNIQUE INDEX client_events_event_id ON client_events (event_id);
      CREATE TABLE server_events (server_seq INTEGER PRIMARY KEY AUTOINCREMENT, event_id TEXT NOT NULL,
        stream_id TEXT NOT NULL, type TEXT NOT NULL, body TEXT NOT NULL);
      CREATE TABLE client_streams (client_id TEXT NOT NULL, stream_id TEXT NOT NULL,
        PRIMARY KEY (client_id, stream_id)) WITHOUT ROWID;
      CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
      PRAGMA user_version = 1;
    `);
    raw
      .prepare('INSERT INTO client_events VALUES (1, ?, ?, 1, ?, ?, ?, 0)')
      .run(event.eventId, event.streamId, event.type, JSON.stringify(event), client);
    raw.close();

    const storage = createSqliteStorage({ file });
    await storage.transaction((tx) =>
      tx.write({ clientId: client, claims: { owner: 'alice', client: false, streams: [event.streamId] } }),
    );
    const seen = await storage.read(async (reader) =>
      (await reader.streams([event.streamId])).get(event.streamId),
    );
    await storage.close();
    expect(seen).toEqual({ events: [event], owner: 'alice' });
    const reopened = new Database(file, { readonly: true });
    expect(reopened.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    reopened.close();
  });

  it('refuses to open a database written by a newer server', () => {
    const file = freshFile();
    createSqliteStorage({ file }).close();
    const raw = new Database(file);
    raw.pragma('user_version = 99');
    raw.close();
    expect(() => createSqliteStorage({ file })).toThrow(expect.objectContaining({ code: 'storage_too_new' }));
  });

  it('fails loudly on a stored row that no longer matches the protocol', async () => {
    const file = freshFile();
    const storage = createSqliteStorage({ file });
    const event = created();
    await storage.transaction((tx) => tx.write({ clientId: client, clientEvents: [event] }));
    const raw = new Database(file);
    raw.prepare('UPDATE client_events SET body = ? WHERE event_id = ?').run('{"eventId":1}', event.eventId);
    raw.close();
    await expect(storage.read((reader) => reader.clientEvents([event.eventId]))).rejects.toMatchObject({
      code: 'storage_corrupt',
    });
    await storage.close();
  });
});
