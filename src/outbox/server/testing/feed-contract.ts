import { uuidv7Generator } from '../../ids';
import type { WireClientEvent, WireServerEvent } from '../../protocol/messages';
import type { FeedEntry, FeedScope, FeedStorage, HistoryRead } from '../feed-storage';
import { formatPullCursor, type PullCursor, parsePullCursor, START_CURSOR } from '../pull-cursor';
import type { ServerStorage, StorageWrite } from '../storage';
import type { ContractTestApi } from './storage-contract';

/** A fresh, empty storage with its feed, for one test, and how to dispose of it. */
export type MakeFeedStorage = () => Promise<{
  storage: ServerStorage;
  feed: FeedStorage;
  /** Called after each test, passed or failed: close the storage and delete what it wrote. */
  cleanup(): Promise<void>;
}>;

/**
 * What every `FeedStorage` must do, whatever it is built on (docs/protocol.md, "The feed"): every stored
 * event, client and server, once, in the order it was written, by a cursor that survives a trip through a
 * client as text; only the streams a user may see; a new device's history as whole streams, newest first,
 * cut at a head from which the feed goes on without a gap or a repeat; the authors of client events; the
 * live channel's changes; and a vanished database told from a new device. Memory, SQLite and PostgreSQL
 * pass it:
 *
 * ```ts
 * runFeedContract('my storage', async () => ({ storage, feed: storage.feed, cleanup }), { afterEach, beforeEach, describe, expect, it });
 * ```
 */
export function runFeedContract(name: string, makeStorage: MakeFeedStorage, test: ContractTestApi): void {
  const { afterEach, beforeEach, describe, expect, it } = test;
  describe(`FeedStorage contract: ${name}`, () => {
    const ids = uuidv7Generator();
    let storage: ServerStorage;
    let feed: FeedStorage;
    let cleanup: () => Promise<void>;

    beforeEach(async () => {
      const made = await makeStorage();
      storage = made.storage;
      feed = made.feed;
      cleanup = made.cleanup;
    });
    afterEach(async () => {
      await cleanup();
    });

    const clientA = ids();
    const clientB = ids();
    const newStream = (): string => `ledger-${ids()}`;

    function clientEvent(streamId: string, version: number, clientId = clientA): WireClientEvent {
      return {
        eventId: ids(),
        streamId,
        version,
        schemaVersion: 1,
        type: version === 1 ? 'LedgerOpened' : 'EntryWritten',
        data: version === 1 ? { holder: 'Ada Lovelace' } : { amount: version * 100 },
        metadata: {
          commandId: ids(),
          correlationId: ids(),
          causationId: null,
          occurredAt: '2026-11-26T12:00:00.000Z',
          clientId,
        },
      };
    }

    /** One committed push: client events, then the server events numbered in the same transaction. */
    async function push(
      clientId: string,
      events: readonly WireClientEvent[],
      decisions: readonly string[] = [],
      extra: Omit<StorageWrite, 'clientId'> = {},
    ): Promise<{ client: WireClientEvent[]; server: WireServerEvent[] }> {
      return storage.transaction(async (tx) => {
        const seqs = decisions.length > 0 ? await tx.allocateServerSeqs(decisions.length) : [];
        const server = decisions.map(
          (streamId, index): WireServerEvent => ({
            eventId: ids(),
            streamId,
            serverSeq: seqs[index] ?? 0,
            occurredAt: '2026-11-26T12:00:01.000Z',
            type: 'LedgerApproved',
            data: { ledgerNumber: `LG-${seqs[index]}` },
          }),
        );
        const linkedStreams = [...new Set(events.map((event) => event.streamId))];
        await tx.write({ clientId, clientEvents: events, serverEvents: server, linkedStreams, ...extra });
        return { client: [...events], server };
      });
    }

    const idOf = (entry: FeedEntry): string => entry.event.eventId;
    /** A cursor as a client holds it: as text, then read back. */
    const throughClient = (cursor: PullCursor): PullCursor =>
      parsePullCursor(formatPullCursor(cursor)) ?? START_CURSOR;

    /** Every page from `since`, following each page's cursor as a client does. */
    async function readAll(scope: FeedScope = {}, since: PullCursor = START_CURSOR, limit = 2) {
      const entries: FeedEntry[] = [];
      let cursor = since;
      for (let page = 0; page < 200; page += 1) {
        const read = await feed.readFeed({ since: cursor, limit, ...scope });
        expect(read.entries.length <= limit).toBe(true);
        entries.push(...read.entries);
        cursor = throughClient(read.cursor);
        if (!read.hasMore) return { entries, cursor };
      }
      throw new Error('the feed never ends');
    }

    /** The whole history at one head, page after page. */
    async function history(scope: FeedScope = {}, streams = 2) {
      const pages: HistoryRead[] = [];
      let head: PullCursor | null = null;
      let before: PullCursor | null = null;
      for (let page = 0; page < 200; page += 1) {
        const read: HistoryRead = await feed.readHistory({
          head,
          before,
          streams,
          maxEvents: 1_000,
          ...scope,
        });
        pages.push(read);
        head = throughClient(read.head);
        if (read.before === null) return { pages, head };
        before = throughClient(read.before);
      }
      throw new Error('the history never ends');
    }

    it('starts empty: no events, the cursor stays, and the history is empty with nothing to count', async () => {
      const read = await feed.readFeed({ since: START_CURSOR, limit: 10 });
      expect({ entries: read.entries, hasMore: read.hasMore, cursor: read.cursor }).toEqual({
        entries: [],
        hasMore: false,
        cursor: START_CURSOR,
      });
      const first = await feed.readHistory({ head: null, before: null, streams: 10, maxEvents: 100 });
      expect({ entries: first.entries, before: first.before, total: first.total }).toEqual({
        entries: [],
        before: null,
        total: 0,
      });
    });

    it('reads every client and server event once, in the order written, page by page', async () => {
      const a = newStream();
      const b = newStream();
      const first = await push(clientA, [clientEvent(a, 1), clientEvent(a, 2)], [a]);
      const second = await push(clientB, [clientEvent(b, 1, clientB)]);
      const third = await push(clientA, [clientEvent(a, 3)], [a]);
      const { entries } = await readAll();
      expect(entries.map(idOf)).toEqual(
        [first, second, third].flatMap(({ client, server }) => [...client, ...server]).map((e) => e.eventId),
      );
      expect(entries.map((entry) => entry.kind)).toEqual([
        'client',
        'client',
        'server',
        'client',
        'client',
        'server',
      ]);
      const stored = entries[0];
      expect(stored?.kind === 'client' && { event: stored.event, clientId: stored.clientId }).toEqual({
        event: first.client[0],
        clientId: clientA,
      });
      expect(entries[2]?.event).toEqual(first.server[0]);
    });

    it('resumes after its cursor: only what was written since, nothing again', async () => {
      const a = newStream();
      await push(clientA, [clientEvent(a, 1)]);
      const before = await readAll();
      const later = await push(clientB, [clientEvent(a, 2, clientB)], [a]);
      const after = await readAll({}, before.cursor);
      expect(after.entries.map(idOf)).toEqual([...later.client, ...later.server].map((e) => e.eventId));
      const again = await feed.readFeed({ since: after.cursor, limit: 10 });
      expect({ entries: again.entries, hasMore: again.hasMore }).toEqual({ entries: [], hasMore: false });
    });

    it("shows a user only their own streams' events, and everyone every stream when unscoped", async () => {
      const alices = newStream();
      const bobs = newStream();
      await push(clientA, [clientEvent(alices, 1)], [alices], {
        claims: { owner: 'alice', client: true, streams: [alices] },
      });
      await push(clientB, [clientEvent(bobs, 1, clientB)], [bobs], {
        claims: { owner: 'bob', client: true, streams: [bobs] },
      });
      const streamsOf = (entries: readonly FeedEntry[]) => [
        ...new Set(entries.map((entry) => entry.event.streamId)),
      ];
      expect(streamsOf((await readAll({ owner: 'alice' })).entries)).toEqual([alices]);
      expect((await readAll({ owner: 'alice' })).entries).toHaveLength(2);
      expect(streamsOf((await readAll({ owner: 'bob' })).entries)).toEqual([bobs]);
      expect((await readAll({ owner: 'carol' })).entries).toEqual([]);
      expect(streamsOf((await readAll()).entries)).toEqual([alices, bobs]);
    });

    it("names each page's authors: the clientId's user and its device's name", async () => {
      const stream = newStream();
      await feed.registerDevice({
        clientId: clientA,
        name: 'Counter tablet',
        owner: 'alice',
        previousClientId: null,
        now: 1,
      });
      await push(clientA, [clientEvent(stream, 1)], [], {
        claims: { owner: 'alice', client: true, streams: [stream] },
      });
      await push(clientB, [clientEvent(stream, 2, clientB)]);
      const read = await feed.readFeed({ since: START_CURSOR, limit: 10 });
      expect(read.authors).toEqual(
        new Map([
          [clientA, { user: 'alice', device: 'Counter tablet' }],
          [clientB, { user: null, device: null }],
        ]),
      );
    });

    it('gives a history of whole streams, newest created first, as they stood at its head', async () => {
      const oldest = newStream();
      const middle = newStream();
      const newest = newStream();
      const o = await push(clientA, [clientEvent(oldest, 1), clientEvent(oldest, 2)], [oldest]);
      const m = await push(clientB, [clientEvent(middle, 1, clientB)]);
      const n = await push(clientA, [clientEvent(newest, 1)]);
      const o3 = await push(clientB, [clientEvent(oldest, 3, clientB)], [oldest]);

      const first = await feed.readHistory({ head: null, before: null, streams: 2, maxEvents: 1_000 });
      expect(first.total).toBe(3);
      expect(first.streams).toBe(2);
      expect(first.entries.map(idOf)).toEqual([...n.client, ...m.client].map((e) => e.eventId));
      // Written after the head: neither a new stream nor a change to an old one is in the history.
      const late = await push(clientA, [clientEvent(newStream(), 1)]);
      const o4 = await push(clientA, [clientEvent(oldest, 4)]);
      const head = throughClient(first.head);
      const before = first.before === null ? null : throughClient(first.before);
      const second = await feed.readHistory({ head, before, streams: 2, maxEvents: 1_000 });
      expect(second.entries.map(idOf)).toEqual(
        [...o.client, ...o.server, ...o3.client, ...o3.server].map((e) => e.eventId),
      );
      expect({ streams: second.streams, before: second.before, total: second.total }).toEqual({
        streams: 1,
        before: null,
        total: null,
      });
      // The feed from the head brings exactly what the history left out.
      const rest = await readAll({}, head);
      expect(rest.entries.map(idOf)).toEqual([...late.client, ...o4.client].map((e) => e.eventId));
    });

    it('lets a new device read the history and then the feed from its head: every event exactly once', async () => {
      const streams = Array.from({ length: 5 }, () => newStream());
      for (const [index, stream] of streams.entries()) {
        await push(
          index % 2 === 0 ? clientA : clientB,
          [clientEvent(stream, 1, index % 2 === 0 ? clientA : clientB)],
          [stream],
        );
      }
      await push(clientA, [clientEvent(streams[0] ?? '', 2)]);
      const { pages, head } = await history({}, 2);
      await push(clientB, [clientEvent(streams[1] ?? '', 2, clientB)], [streams[1] ?? '']);
      const forward = await readAll({}, head);
      const seen = [...pages.flatMap((page) => page.entries), ...forward.entries].map(idOf);
      const everything = (await readAll()).entries.map(idOf);
      expect(seen.slice().sort()).toEqual(everything.slice().sort());
      expect(new Set(seen).size).toBe(seen.length);
      expect(pages.map((page) => page.streams)).toEqual([2, 2, 1]);
    });

    it("keeps a user's history to the streams they may see, and counts only those", async () => {
      const alices = newStream();
      const bobs = newStream();
      await push(clientA, [clientEvent(alices, 1)], [], {
        claims: { owner: 'alice', client: true, streams: [alices] },
      });
      await push(clientB, [clientEvent(bobs, 1, clientB)], [], {
        claims: { owner: 'bob', client: true, streams: [bobs] },
      });
      const { pages } = await history({ owner: 'alice' });
      expect(pages.flatMap((page) => page.entries).map((entry) => entry.event.streamId)).toEqual([alices]);
      expect(pages[0]?.total).toBe(1);
    });

    it('says where the feed stands and whose streams changed since a place, for the live channel', async () => {
      await push(clientB, [clientEvent(newStream(), 1, clientB)]);
      // Without a place: only where it stands, nobody's streams.
      const now = await feed.changesSince(null, 100);
      expect(now.owners.size).toBe(0);
      const alices = newStream();
      await push(clientA, [clientEvent(alices, 1)], [alices], {
        claims: { owner: 'alice', client: true, streams: [alices] },
      });
      const unowned = newStream();
      await push(clientB, [clientEvent(unowned, 1, clientB)]);
      const changes = await feed.changesSince(throughClient(now.head), 100);
      expect(changes.owners).toEqual(new Set(['alice', null]));
      const { cursor } = await readAll();
      expect(formatPullCursor(changes.head)).toBe(formatPullCursor(cursor));
      const quiet = await feed.changesSince(throughClient(changes.head), 100);
      expect({ head: formatPullCursor(quiet.head), owners: quiet.owners.size }).toEqual({
        head: formatPullCursor(changes.head),
        owners: 0,
      });
    });

    it('tells a vanished database from a new device: a known cookie whose clientId had delivered events', async () => {
      const stream = newStream();
      const register = (clientId: string, previousClientId: string | null, owner: string | null = null) =>
        feed.registerDevice({ clientId, name: 'Counter tablet', owner, previousClientId, now: 1 });
      await expect(register(clientA, null)).resolves.toBe(null);
      // Registered but never delivered anything: nothing was lost with it.
      const fresh = ids();
      await expect(register(fresh, clientA)).resolves.toBe(null);
      await push(clientA, [clientEvent(stream, 1)]);
      const wiped = ids();
      await expect(register(wiped, clientA)).resolves.toEqual({
        clientId: clientA,
        device: 'Counter tablet',
        user: null,
      });
      // Said once: the same clientId registering again is a known device.
      await expect(register(wiped, clientA)).resolves.toBe(null);
      await expect(register(clientA, clientA)).resolves.toBe(null);
    });

    it("never names another user's device as this one's past", async () => {
      const stream = newStream();
      await feed.registerDevice({
        clientId: clientA,
        name: 'Till',
        owner: 'alice',
        previousClientId: null,
        now: 1,
      });
      await push(clientA, [clientEvent(stream, 1)], [], {
        claims: { owner: 'alice', client: true, streams: [stream] },
      });
      const register = (owner: string) =>
        feed.registerDevice({ clientId: ids(), name: 'Phone', owner, previousClientId: clientA, now: 2 });
      await expect(register('bob')).resolves.toBe(null);
      await expect(register('alice')).resolves.toEqual({ clientId: clientA, device: 'Till', user: 'alice' });
    });
  });
}
