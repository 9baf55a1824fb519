import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { uuidv7Generator } from '../../src/outbox/ids';
import type { WireClientEvent } from '../../src/outbox/protocol/messages';
import type { FeedEntry } from '../../src/outbox/server/feed-storage';
import { formatPullCursor, type PullCursor, START_CURSOR } from '../../src/outbox/server/pull-cursor';
import { runFeedContract } from '../../src/outbox/server/testing';
import { createPgStorage, type PgStorage } from '../../src/server/node/pg-storage';
import { startTestPostgres, type TestPostgres } from './support/postgres';

/** The feed on PostgreSQL: the contract, and the order that never skips a transaction still open. */

let postgres: TestPostgres;
beforeAll(async () => {
  postgres = await startTestPostgres();
}, 60_000);
afterAll(async () => {
  await postgres?.stop();
});

runFeedContract(
  'postgresql',
  async () => {
    const storage = await createPgStorage({ url: await postgres.createSchema(), poolSize: 6 });
    return { storage, feed: storage.feed, cleanup: () => storage.close() };
  },
  { afterEach, beforeEach, describe, expect, it },
);

describe('the feed on PostgreSQL with several writers', () => {
  const ids = uuidv7Generator();
  const clientId = ids();

  const event = (streamId: string, version: number): WireClientEvent => ({
    eventId: ids(),
    streamId,
    version,
    schemaVersion: 1,
    type: version === 1 ? 'LedgerOpened' : 'EntryWritten',
    data: { version },
    metadata: {
      commandId: ids(),
      correlationId: ids(),
      causationId: null,
      occurredAt: '2026-11-26T12:00:00.000Z',
      clientId,
    },
  });

  /** A transaction that has written `written` and stays open until `commit()`. */
  function holdOpen(storage: PgStorage, written: WireClientEvent) {
    let commit: () => void = () => undefined;
    const released = new Promise<void>((resolve) => {
      commit = resolve;
    });
    let wrote: () => void = () => undefined;
    const hasWritten = new Promise<void>((resolve) => {
      wrote = resolve;
    });
    const done = storage.transaction(async (tx) => {
      await tx.write({ clientId, clientEvents: [written], linkedStreams: [written.streamId] });
      wrote();
      await released;
    });
    return { hasWritten, commit, done };
  }
  const ids$ = (entries: readonly FeedEntry[]) => entries.map((entry) => entry.event.eventId);
  const readFrom = (storage: PgStorage, since: PullCursor) => storage.feed.readFeed({ since, limit: 100 });

  it('never lets the feed, a history head or the live poll pass an event whose transaction is still open', async () => {
    const storage = await createPgStorage({ url: await postgres.createSchema() });
    const first = event(`ledger-${ids()}`, 1);
    await storage.transaction((tx) => tx.write({ clientId, clientEvents: [first] }));
    const start = await readFrom(storage, START_CURSOR);
    expect(ids$(start.entries)).toEqual([first.eventId]);
    const live = await storage.feed.changesSince(null, 100);

    // A takes its transaction id first and stays open; B starts later, commits, and readers read between.
    const heldEvent = event(`ledger-${ids()}`, 1);
    const held = holdOpen(storage, heldEvent);
    await held.hasWritten;
    const later = event(`ledger-${ids()}`, 1);
    await storage.transaction((tx) => tx.write({ clientId, clientEvents: [later] }));

    const between = await readFrom(storage, start.cursor);
    expect({ entries: between.entries, hasMore: between.hasMore }).toEqual({ entries: [], hasMore: false });
    expect(formatPullCursor(between.cursor)).toBe(formatPullCursor(start.cursor));
    const history = await storage.feed.readHistory({ head: null, before: null, streams: 10, maxEvents: 100 });
    expect(ids$(history.entries)).toEqual([first.eventId]);
    const poll = await storage.feed.changesSince(live.head, 100);
    expect({ head: formatPullCursor(poll.head), owners: poll.owners.size }).toEqual({
      head: formatPullCursor(live.head),
      owners: 0,
    });

    held.commit();
    await held.done;
    const after = await readFrom(storage, between.cursor);
    expect(ids$(after.entries)).toEqual([heldEvent.eventId, later.eventId]);
    // The history's head left both out: the feed from it brings them, in commit order, once.
    const fromHead = await readFrom(storage, history.head);
    expect(ids$(fromHead.entries)).toEqual([heldEvent.eventId, later.eventId]);
    expect((await storage.feed.changesSince(live.head, 100)).owners).toEqual(new Set([null]));
    await storage.close();
  });
});
