import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock, uuidv7Generator } from '../../src/outbox/ids';
import type { WireClientEvent, WireServerEvent } from '../../src/outbox/protocol/messages';
import { createMemoryStorage } from '../../src/outbox/server/memory-storage';
import { START_CURSOR } from '../../src/outbox/server/pull-cursor';
import { runFeedContract } from '../../src/outbox/server/testing';
import { createSqliteStorage } from '../../src/server/node/sqlite-storage';

/** The feed contract on the storages that live in one process; PostgreSQL's is in pg-feed.test.ts. */

const vitestApi = { afterEach, beforeEach, describe, expect, it };
const root = mkdtempSync(join(tmpdir(), 'outpost-feed-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

runFeedContract(
  'memory',
  async () => {
    const storage = createMemoryStorage();
    return { storage, feed: storage.feed, cleanup: () => storage.close() };
  },
  vitestApi,
);

runFeedContract(
  'sqlite',
  async () => {
    const storage = createSqliteStorage({ file: join(mkdtempSync(join(root, 'db-')), 'outpost.sqlite') });
    return { storage, feed: storage.feed, cleanup: () => storage.close() };
  },
  vitestApi,
);

describe('the memory feed restored from a snapshot (the demo worker restarting)', () => {
  it('keeps the order it was written in, and the devices it knew', async () => {
    const ids = uuidv7Generator();
    const first = createMemoryStorage();
    const clientId = ids();
    await first.feed.registerDevice({ clientId, name: 'Demo', owner: null, previousClientId: null, now: 1 });
    const stream = `ledger-${ids()}`;
    await first.transaction(async (tx) => {
      const [serverSeq = 0] = await tx.allocateServerSeqs(1);
      await tx.write({
        clientId,
        clientEvents: [
          {
            eventId: ids(),
            streamId: stream,
            version: 1,
            schemaVersion: 1,
            type: 'LedgerOpened',
            data: {},
            metadata: {
              commandId: ids(),
              correlationId: ids(),
              causationId: null,
              occurredAt: '2026-11-26T12:00:00.000Z',
              clientId,
            },
          },
        ],
        serverEvents: [
          {
            eventId: ids(),
            streamId: stream,
            serverSeq,
            type: 'LedgerApproved',
            data: {},
            occurredAt: '2026-11-26T12:00:00.000Z',
          },
        ],
      });
    });
    const before = await first.feed.readFeed({ since: START_CURSOR, limit: 10 });
    const restored = createMemoryStorage({ initial: first.snapshot() });
    const after = await restored.feed.readFeed({ since: START_CURSOR, limit: 10 });
    expect(after.entries).toEqual(before.entries);
    expect(after.authors).toEqual(new Map([[clientId, { user: null, device: 'Demo' }]]));
  });
});

describe('the feed of a file written before it existed (SQLite schema 2 to 3)', () => {
  it("gives every stored event a place, each stream's in order and each decision after what it decided on", async () => {
    const file = join(mkdtempSync(join(root, 'old-')), 'outpost.sqlite');
    const clock = new ManualClock();
    const ids = uuidv7Generator(clock);
    const clientId = ids();
    const storage = createSqliteStorage({ file, clock });
    const event = (streamId: string, version: number): WireClientEvent => ({
      eventId: ids(),
      streamId,
      version,
      schemaVersion: 1,
      type: 'EntryWritten',
      data: { version },
      metadata: {
        commandId: ids(),
        correlationId: ids(),
        causationId: null,
        occurredAt: new Date(clock.now()).toISOString(),
        clientId,
      },
    });
    /** One push as the server makes it: its events, then a decision taken at the same moment. */
    const push = (events: WireClientEvent[], decides: boolean) =>
      storage.transaction(async (tx) => {
        const [serverSeq = 0] = decides ? await tx.allocateServerSeqs(1) : [];
        const decision: WireServerEvent = {
          eventId: ids(),
          streamId: events[0]?.streamId ?? '',
          serverSeq,
          type: 'LedgerApproved',
          data: {},
          occurredAt: new Date(clock.now()).toISOString(),
        };
        await tx.write({ clientId, clientEvents: events, serverEvents: decides ? [decision] : [] });
        clock.advance(10_000);
      });
    const a = `ledger-${ids()}`;
    const b = `ledger-${ids()}`;
    await push([event(a, 1), event(a, 2)], true);
    await push([event(b, 1)], false);
    await push([event(a, 3)], true);
    const written = (await storage.feed.readFeed({ since: START_CURSOR, limit: 100 })).entries.map(
      (entry) => entry.event.eventId,
    );
    await storage.close();

    // As a server of schema 2 left it: no feed table, no triggers, no device names, nor what steps 5 and 6 added.
    const raw = new Database(file);
    raw.exec(`DROP TRIGGER feed_client_events; DROP TRIGGER feed_server_events; DROP TABLE feed;
      DROP TABLE devices; DROP TABLE consumer_attempts; DROP INDEX consumer_inbox_applied;
      ALTER TABLE consumer_parked DROP COLUMN owner; DROP TABLE server_outbox_streams;
      ALTER TABLE server_outbox DROP COLUMN stream_seq; ALTER TABLE consumer_streams DROP COLUMN last_seq;
      PRAGMA user_version = 2;`);
    raw.close();

    const upgraded = createSqliteStorage({ file, clock });
    const read = await upgraded.feed.readFeed({ since: START_CURSOR, limit: 100 });
    expect(read.entries.map((entry) => entry.event.eventId)).toEqual(written);
    expect(written).toHaveLength(6);
    await upgraded.close();
  });
});
