import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { uuidv7Generator } from '../../src/outbox/ids';
import type { WireClientEvent } from '../../src/outbox/protocol/messages';
import { type ServerStorageTx, StorageConflictError } from '../../src/outbox/server/storage';
import { SCHEMA_VERSION, SqliteStorageError } from '../../src/server/node/sqlite-database';
import { createSqliteStorage } from '../../src/server/node/sqlite-storage';
import { runStorageContract } from './storage-contract';

const root = mkdtempSync(join(tmpdir(), 'outpost-sqlite-'));
const freshFile = (): string => join(mkdtempSync(join(root, 'db-')), 'outpost.sqlite');

afterAll(() => rmSync(root, { recursive: true, force: true }));

runStorageContract('sqlite', async () => {
  const storage = createSqliteStorage({ file: freshFile() });
  return { storage, cleanup: () => storage.close() };
});

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
    await first.transaction((tx) => {
      tx.appendClientEvent(event, client);
      tx.linkClientToStream(client, event.streamId);
      tx.appendServerEvent({
        eventId: ids(),
        streamId: event.streamId,
        occurredAt: '2026-11-26T12:00:01.000Z',
        type: 'OrderConfirmed',
        data: { orderNumber: 'SO-000001', confirmedAt: '2026-11-26T12:00:01.000Z' },
      });
    });
    await first.close();

    const reopened = createSqliteStorage({ file });
    const seen = await reopened.read((reader) => ({
      found: reader.findClientEvent(event.eventId),
      pulled: reader.serverEventsForClient(client, 0, 10).map((e) => e.serverSeq),
      lastSeq: reader.lastServerSeq(),
    }));
    await reopened.close();
    expect(seen).toEqual({ found: event, pulled: [1], lastSeq: 1 });
  });

  it('refuses a duplicate through the database itself, even from another connection to the file', async () => {
    const file = freshFile();
    const event = created();
    const one = createSqliteStorage({ file });
    const two = createSqliteStorage({ file });
    await one.transaction((tx) => tx.appendClientEvent(event, client));
    const failure = two.transaction((tx) => tx.appendClientEvent(event, client));
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

  it('refuses a version that skips ahead in a stream', async () => {
    const storage = createSqliteStorage({ file: freshFile() });
    const first = created();
    await storage.transaction((tx) => tx.appendClientEvent(first, client));
    const skipping = { ...created(first.streamId), version: 3 };
    const failure = storage.transaction((tx) => tx.appendClientEvent(skipping, client));
    await expect(failure).rejects.toMatchObject({ constraint: 'streamVersion' });
    await expect(storage.read((reader) => reader.streamVersion(first.streamId))).resolves.toBe(1);
    await storage.close();
  });

  it('refuses writes from work that kept its transaction handle past the end of the transaction', async () => {
    const storage = createSqliteStorage({ file: freshFile() });
    let leaked: ServerStorageTx | undefined;
    await storage.transaction((tx) => {
      leaked = tx;
    });
    const late = created();
    expect(() => leaked?.appendClientEvent(late, client)).toThrow(
      expect.objectContaining({ code: 'tx_finished' }),
    );
    await expect(storage.read((reader) => reader.findClientEvent(late.eventId))).resolves.toBeUndefined();
    await storage.close();
  });

  it('rolls back work that returns a promise instead of finishing synchronously', async () => {
    const storage = createSqliteStorage({ file: freshFile() });
    const event = created();
    const failure = storage.transaction(async (tx) => {
      tx.appendClientEvent(event, client);
    });
    await expect(failure).rejects.toThrow();
    await expect(storage.read((reader) => reader.findClientEvent(event.eventId))).resolves.toBeUndefined();
    await storage.close();
  });

  it('answers with a typed error once closed', async () => {
    const storage = createSqliteStorage({ file: freshFile() });
    await storage.close();
    await expect(storage.read((reader) => reader.stats())).rejects.toMatchObject({ code: 'storage_closed' });
    await expect(storage.transaction(() => 1)).rejects.toBeInstanceOf(SqliteStorageError);
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
    await storage.transaction((tx) => tx.claimStream(event.streamId, 'alice'));
    const seen = await storage.read((reader) => ({
      found: reader.findClientEvent(event.eventId),
      owner: reader.streamOwner(event.streamId),
    }));
    await storage.close();
    expect(seen).toEqual({ found: event, owner: 'alice' });
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
    await storage.transaction((tx) => tx.appendClientEvent(event, client));
    const raw = new Database(file);
    raw.prepare('UPDATE client_events SET body = ? WHERE event_id = ?').run('{"eventId":1}', event.eventId);
    raw.close();
    await expect(storage.read((reader) => reader.findClientEvent(event.eventId))).rejects.toMatchObject({
      code: 'storage_corrupt',
    });
    await storage.close();
  });
});
