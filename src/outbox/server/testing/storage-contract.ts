import { uuidv7Generator } from '../../ids';
import type { WireClientEvent, WireServerEvent } from '../../protocol/messages';
import { formatPullCursor, parsePullCursor, START_CURSOR } from '../pull-cursor';
import {
  type PullRequest,
  type ServerStats,
  type ServerStorage,
  type ServerStorageReader,
  type ServerStorageTx,
  StorageConflictError,
  type StorageWrite,
} from '../storage';

/** The assertions the suite makes, as Vitest's and Jest's `expect` provide them. */
export interface ContractAssertion {
  /** Fails the test unless the value is `expected` itself (`Object.is`). */
  toBe(expected: unknown): void;
  /** Fails the test unless the value equals `expected` deeply (Maps and Sets by content). */
  toEqual(expected: unknown): void;
  /** Fails the test unless the value has every property of `expected`, deeply; others may be there too. */
  toMatchObject(expected: object): void;
  /** Fails the test unless the value is an instance of `expected` (a `StorageConflictError`, say). */
  toBeInstanceOf(expected: abstract new (...args: never[]) => unknown): void;
  /** Fails the test unless the array or string holds `item` (`===` for an array). */
  toContain(item: unknown): void;
  /** Fails the test unless the value is a number above `expected`. */
  toBeGreaterThan(expected: number): void;
  /** Fails the test unless the value's `length` is `length`. */
  toHaveLength(length: number): void;
  /** The same checks on what a promise resolves to; awaited by the suite, and fails if it rejects. */
  readonly resolves: {
    /** As `toBe`, on the resolved value. */
    toBe(expected: unknown): Promise<unknown>;
    /** As `toEqual`, on the resolved value. */
    toEqual(expected: unknown): Promise<unknown>;
    /** As `toMatchObject`, on the resolved value. */
    toMatchObject(expected: object): Promise<unknown>;
  };
  /** The same checks on what a promise rejects with; awaited by the suite, and fails if it resolves. */
  readonly rejects: {
    /** As `toBe`, on the rejection's reason. */
    toBe(expected: unknown): Promise<unknown>;
    /** As `toMatchObject`, on the rejection's reason (its `constraint`, say). */
    toMatchObject(expected: object): Promise<unknown>;
    /** As `toBeInstanceOf`, on the rejection's reason. */
    toBeInstanceOf(expected: abstract new (...args: never[]) => unknown): Promise<unknown>;
    /** Fails unless it rejects, with a message holding `expected` (a string) or matching it (a RegExp). */
    toThrow(expected?: string | RegExp): Promise<unknown>;
  };
}

/**
 * The test runner's functions the suite runs on: pass Vitest's (`import { afterEach, beforeEach, describe,
 * expect, it } from 'vitest'`) or Jest's globals. The core imports no test runner.
 */
export interface ContractTestApi {
  /** Groups the tests under `name`; `body` registers them synchronously. */
  describe(name: string, body: () => void): void;
  /** One test: it fails when `body` rejects or an assertion fails in it. */
  it(name: string, body: () => Promise<void>): void;
  /** Runs before each test of the group; the suite makes the fresh storage here. */
  beforeEach(body: () => Promise<void>): void;
  /** Runs after each test, passed or failed; the suite calls your `cleanup` here. */
  afterEach(body: () => Promise<void>): void;
  /** Starts an assertion on `actual`, as Vitest's and Jest's `expect`. */
  readonly expect: ((actual: unknown) => ContractAssertion) & {
    /** A matcher for `toEqual`/`toMatchObject` that accepts any object holding `sample`'s properties. */
    objectContaining(sample: Record<string, unknown>): unknown;
  };
}

/** A fresh, empty storage for one test, and how to dispose of it. */
export type MakeStorage = () => Promise<{
  storage: ServerStorage;
  /** Called after each test, passed or failed: close the storage and delete what it wrote. */
  cleanup(): Promise<void>;
}>;

/**
 * What every `ServerStorage` must do, whatever it is built on: uniqueness of eventIds and stream versions
 * refused by the storage itself, streams without holes, atomic transactions that read their own writes,
 * serverSeqs never handed out twice, pulls by cursor in pages, owners. Memory, SQLite and PostgreSQL pass
 * it; so must yours:
 *
 * ```ts
 * runStorageContract('my storage', async () => ({ storage, cleanup }), { afterEach, beforeEach, describe, expect, it });
 * ```
 *
 * Each test gets a fresh, empty storage from `makeStorage`.
 */
export function runStorageContract(name: string, makeStorage: MakeStorage, test: ContractTestApi): void {
  const { afterEach, beforeEach, describe, expect, it } = test;
  describe(`ServerStorage contract: ${name}`, () => {
    const ids = uuidv7Generator();
    let storage: ServerStorage;
    let cleanup: () => Promise<void>;

    beforeEach(async () => {
      const made = await makeStorage();
      storage = made.storage;
      cleanup = made.cleanup;
    });
    afterEach(async () => {
      await cleanup();
    });

    const clientA = ids();
    const clientB = ids();

    function clientEvent(streamId: string, version: number, eventId = ids()): WireClientEvent {
      const metadata = {
        commandId: ids(),
        correlationId: ids(),
        causationId: null,
        occurredAt: '2026-11-26T12:00:00.000Z',
        clientId: clientA,
      };
      if (version === 1) {
        const ledgerId = streamId.slice('ledger-'.length);
        return {
          eventId,
          streamId,
          version,
          schemaVersion: 1,
          type: 'LedgerOpened',
          data: { ledgerId, holder: 'Ada Lovelace', currency: 'EUR' },
          metadata,
        };
      }
      return {
        eventId,
        streamId,
        version,
        schemaVersion: 1,
        type: 'EntryWritten',
        data: { account: `ACC-${version}`, amount: 1250 },
        metadata,
      };
    }

    function confirmation(streamId: string, serverSeq: number): WireServerEvent {
      return {
        eventId: ids(),
        streamId,
        serverSeq,
        occurredAt: '2026-11-26T12:00:01.000Z',
        type: 'LedgerApproved',
        data: { ledgerNumber: `LG-${String(serverSeq).padStart(6, '0')}` },
      };
    }

    function rejection(streamId: string, serverSeq: number): WireServerEvent {
      return {
        eventId: ids(),
        streamId,
        serverSeq,
        occurredAt: '2026-11-26T12:00:01.000Z',
        type: 'LedgerDeclined',
        data: { code: 'over_limit' },
      };
    }

    // A stream type of the suite's own: a storage stores any stream type's events as they came.
    const newStream = (): string => `ledger-${ids()}`;
    /** What a storage counts, without the moment's figures some add (how long a transaction is open). */
    const counts = ({ oldestOpenTransactionMs: _moment, ...stored }: ServerStats) => stored;

    /** One committed write. */
    const write = (changes: StorageWrite) => storage.transaction((tx) => tx.write(changes));
    /** Server events numbered by the storage, in one transaction with `links`. */
    async function decide(
      tx: ServerStorageTx,
      make: readonly ((serverSeq: number) => WireServerEvent)[],
      clientId = clientA,
    ): Promise<WireServerEvent[]> {
      const seqs = await tx.allocateServerSeqs(make.length);
      const events = make.map((build, index) => build(seqs[index] ?? 0));
      await tx.write({ clientId, serverEvents: events });
      return events;
    }
    const streamOf = async (reader: ServerStorageReader, streamId: string) =>
      (await reader.streams([streamId])).get(streamId);
    const versionOf = async (reader: ServerStorageReader, streamId: string) =>
      (await streamOf(reader, streamId))?.events.at(-1)?.version ?? 0;
    /** Every page from `since` on, following each page's cursor, as a client does. */
    async function pullAll(request: Omit<PullRequest, 'since'> & { since?: PullRequest['since'] }) {
      const events: WireServerEvent[] = [];
      let since = request.since ?? START_CURSOR;
      for (let page = 0; page < 100; page += 1) {
        const answer = await storage.read((reader) => reader.pull({ ...request, since }));
        events.push(...answer.events);
        // The cursor survives the trip through a client as text.
        since = parsePullCursor(formatPullCursor(answer.cursor)) ?? START_CURSOR;
        if (!answer.hasMore) return events;
      }
      throw new Error('pulling never ends');
    }

    it('starts empty', async () => {
      const stream = newStream();
      const seen = await storage.read(async (reader) => ({
        stream: await streamOf(reader, stream),
        found: await reader.clientEvents([ids()]),
        clientOwner: await reader.clientOwner(clientA),
        pulled: await reader.pull({ clientId: clientA, since: START_CURSOR, limit: 10 }),
        stats: await reader.stats(),
      }));
      expect(seen).toEqual({
        stream: { events: [], owner: undefined },
        found: new Map(),
        clientOwner: undefined,
        pulled: { events: [], cursor: START_CURSOR, hasMore: false },
        stats: expect.objectContaining({
          eventsStored: 0,
          streams: 0,
          serverEvents: 0,
          serverEventsByType: {},
          duplicatesAnswered: 0,
        }),
      });
    });

    it('returns stored client events exactly as they were stored, in version order', async () => {
      const stream = newStream();
      const events = [clientEvent(stream, 1), clientEvent(stream, 2), clientEvent(stream, 3)];
      await write({ clientId: clientA, clientEvents: events });
      const seen = await storage.read(async (reader) => ({
        stream: await streamOf(reader, stream),
        found: await reader.clientEvents([events[1]?.eventId ?? '', ids()]),
      }));
      expect(seen.stream?.events).toEqual(events);
      expect(seen.found).toEqual(new Map([[events[1]?.eventId, events[1]]]));
    });

    it("reads what a push decides on in one go: stored events by id, streams with owners, the client's owner", async () => {
      const stream = newStream();
      const other = newStream();
      const events = [clientEvent(stream, 1), clientEvent(stream, 2)];
      await write({
        clientId: clientA,
        clientEvents: events,
        claims: { owner: 'alice', client: true, streams: [stream] },
      });
      const context = await storage.read((reader) =>
        reader.batchContext({
          eventIds: [events[1]?.eventId ?? '', ids()],
          streamIds: [stream, other],
          clientId: clientA,
        }),
      );
      expect(context).toEqual({
        clientEvents: new Map([[events[1]?.eventId, events[1]]]),
        streams: new Map([
          [stream, { events, owner: 'alice' }],
          [other, { events: [], owner: undefined }],
        ]),
        clientOwner: 'alice',
      });
    });

    it('lets a transaction read its own writes before it commits', async () => {
      const stream = newStream();
      const first = clientEvent(stream, 1);
      const seen = await storage.transaction(async (tx) => {
        await tx.write({ clientId: clientA, clientEvents: [first], linkedStreams: [stream] });
        const [decided] = await decide(tx, [(seq) => confirmation(stream, seq)]);
        return {
          found: (await tx.clientEvents([first.eventId])).get(first.eventId),
          version: await versionOf(tx, stream),
          decided,
        };
      });
      expect(seen).toEqual({ found: first, version: 1, decided: seen.decided });
      await expect(pullAll({ clientId: clientA, limit: 10 })).resolves.toEqual([seen.decided]);
    });

    it('returns what the transaction work returns', async () => {
      await expect(storage.transaction(async () => 42)).resolves.toBe(42);
      await expect(storage.read(async () => 'read')).resolves.toBe('read');
    });

    it('refuses a second event with a stored eventId, and keeps the first', async () => {
      const stream = newStream();
      const event = clientEvent(stream, 1);
      await write({ clientId: clientA, clientEvents: [event] });
      const copy = { ...clientEvent(newStream(), 1), eventId: event.eventId };
      const failure = write({ clientId: clientA, clientEvents: [copy] });
      await expect(failure).rejects.toBeInstanceOf(StorageConflictError);
      await expect(failure).rejects.toMatchObject({ constraint: 'eventId' });
      const seen = await storage.read(async (reader) => ({
        found: (await reader.clientEvents([event.eventId])).get(event.eventId),
        eventsStored: (await reader.stats()).eventsStored,
        otherVersion: await versionOf(reader, copy.streamId),
      }));
      expect(seen).toEqual({ found: event, eventsStored: 1, otherVersion: 0 });
    });

    it('refuses a second event at a stored (stream, version), whatever its eventId', async () => {
      const stream = newStream();
      const event = clientEvent(stream, 1);
      await write({ clientId: clientA, clientEvents: [event] });
      const rival = clientEvent(stream, 1);
      const failure = write({ clientId: clientA, clientEvents: [rival] });
      await expect(failure).rejects.toBeInstanceOf(StorageConflictError);
      await expect(failure).rejects.toMatchObject({ constraint: 'streamVersion' });
      const seen = await storage.read(async (reader) => ({
        events: (await streamOf(reader, stream))?.events,
        rival: (await reader.clientEvents([rival.eventId])).size,
      }));
      expect(seen).toEqual({ events: [event], rival: 0 });
    });

    it('refuses a version that skips ahead in a stream, so a stream never has a hole', async () => {
      const stream = newStream();
      await write({ clientId: clientA, clientEvents: [clientEvent(stream, 1)] });
      const failure = write({ clientId: clientA, clientEvents: [clientEvent(stream, 3)] });
      await expect(failure).rejects.toMatchObject({ constraint: 'streamVersion' });
      const fresh = write({ clientId: clientA, clientEvents: [clientEvent(newStream(), 2)] });
      await expect(fresh).rejects.toMatchObject({ constraint: 'streamVersion' });
      await expect(storage.read((reader) => versionOf(reader, stream))).resolves.toBe(1);
    });

    it('stores only one of two concurrent transactions writing the same event', async () => {
      const stream = newStream();
      const event = clientEvent(stream, 1);
      const outcomes = await Promise.allSettled([
        write({ clientId: clientA, clientEvents: [event] }),
        write({ clientId: clientB, clientEvents: [event] }),
      ]);
      expect(outcomes.filter((outcome) => outcome.status === 'fulfilled')).toHaveLength(1);
      const refused = outcomes.find((outcome) => outcome.status === 'rejected');
      expect(refused?.status === 'rejected' && refused.reason).toBeInstanceOf(StorageConflictError);
      await expect(storage.read(async (reader) => (await reader.stats()).eventsStored)).resolves.toBe(1);
    });

    it('stores only one of two concurrent transactions taking the same version of a stream', async () => {
      const stream = newStream();
      const outcomes = await Promise.allSettled([
        write({ clientId: clientA, clientEvents: [clientEvent(stream, 1)] }),
        write({ clientId: clientB, clientEvents: [clientEvent(stream, 1)] }),
      ]);
      expect(outcomes.filter((outcome) => outcome.status === 'fulfilled')).toHaveLength(1);
      await expect(storage.read((reader) => versionOf(reader, stream))).resolves.toBe(1);
    });

    it('leaves nothing behind when the work throws, and the error reaches the caller', async () => {
      const kept = newStream();
      await storage.transaction(async (tx) => {
        await tx.write({ clientId: clientA, clientEvents: [clientEvent(kept, 1)], linkedStreams: [kept] });
        await decide(tx, [(seq) => confirmation(kept, seq)]);
      });
      const before = await storage.read((reader) => reader.stats());

      const doomed = newStream();
      const boom = new Error('work failed half-way');
      const failure = storage.transaction(async (tx) => {
        await tx.write({
          clientId: clientB,
          clientEvents: [clientEvent(doomed, 1), clientEvent(kept, 2)],
          linkedStreams: [doomed, kept],
          claims: { owner: 'bob', client: true, streams: [doomed] },
          duplicatesAnswered: 5,
        });
        await decide(tx, [(seq) => confirmation(doomed, seq)], clientB);
        throw boom;
      });
      await expect(failure).rejects.toBe(boom);

      const after = await storage.read(async (reader) => ({
        stats: counts(await reader.stats()),
        doomed: await streamOf(reader, doomed),
        keptVersion: await versionOf(reader, kept),
        clientOwner: await reader.clientOwner(clientB),
        pulledByB: (await reader.pull({ clientId: clientB, since: START_CURSOR, limit: 10 })).events,
      }));
      expect(after).toEqual({
        stats: counts(before),
        doomed: { events: [], owner: undefined },
        keptVersion: 1,
        clientOwner: undefined,
        pulledByB: [],
      });
    });

    it('rolls back a transaction refused by a uniqueness constraint half-way', async () => {
      const stream = newStream();
      const first = clientEvent(stream, 1);
      await write({ clientId: clientA, clientEvents: [first] });
      const fresh = newStream();
      const failure = storage.transaction(async (tx) => {
        await tx.write({ clientId: clientA, clientEvents: [clientEvent(fresh, 1)], linkedStreams: [fresh] });
        await decide(tx, [(seq) => confirmation(fresh, seq)]);
        await tx.write({ clientId: clientA, clientEvents: [first] });
      });
      await expect(failure).rejects.toBeInstanceOf(StorageConflictError);
      const seen = await storage.read(async (reader) => ({
        freshVersion: await versionOf(reader, fresh),
        stats: await reader.stats(),
      }));
      expect(seen.freshVersion).toBe(0);
      expect(seen.stats).toMatchObject({ eventsStored: 1, serverEvents: 0 });
    });

    it('hands out serverSeqs ascending within a transaction and never twice, even to concurrent ones', async () => {
      const stream = newStream();
      const perTransaction = await Promise.all(
        Array.from({ length: 8 }, () =>
          storage.transaction(async (tx) => {
            const seqs = await tx.allocateServerSeqs(3);
            await tx.write({
              clientId: clientA,
              serverEvents: seqs.map((seq) => rejection(stream, seq)),
            });
            return seqs;
          }),
        ),
      );
      for (const seqs of perTransaction) {
        expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
        for (const seq of seqs) expect(Number.isSafeInteger(seq) && seq >= 1).toBe(true);
      }
      const all = perTransaction.flat();
      expect(new Set(all).size).toBe(all.length);
      await expect(storage.read(async (reader) => (await reader.stats()).serverEvents)).resolves.toBe(24);
    });

    it('never hands out again a serverSeq that a committed transaction stored', async () => {
      const stream = newStream();
      const [stored] = await storage.transaction((tx) => decide(tx, [(seq) => confirmation(stream, seq)]));
      await expect(
        storage.transaction(async (tx) => {
          await tx.allocateServerSeqs(2);
          throw new Error('abandon');
        }),
      ).rejects.toThrow('abandon');
      const next = await storage.transaction((tx) => tx.allocateServerSeqs(1));
      expect(next[0]).toBeGreaterThan(stored?.serverSeq ?? Number.POSITIVE_INFINITY);
    });

    it('returns a stored server event exactly as it was given', async () => {
      const stream = newStream();
      const [given] = await storage.transaction(async (tx) => {
        await tx.write({ clientId: clientA, linkedStreams: [stream] });
        return decide(tx, [(seq) => confirmation(stream, seq)]);
      });
      await expect(pullAll({ clientId: clientA, limit: 10 })).resolves.toEqual([given]);
    });

    it('gives a client the server events of the streams it is linked to only, after its cursor, in pages', async () => {
      const mine = newStream();
      const alsoMine = newStream();
      const theirs = newStream();
      await write({ clientId: clientA, linkedStreams: [mine, alsoMine, mine] });
      await write({ clientId: clientB, linkedStreams: [theirs] });
      const stored = await storage.transaction((tx) =>
        decide(tx, [
          (seq) => confirmation(mine, seq),
          (seq) => confirmation(theirs, seq),
          (seq) => rejection(alsoMine, seq),
          (seq) => confirmation(theirs, seq),
          (seq) => rejection(mine, seq),
        ]),
      );
      const [first, second, third, fourth, fifth] = stored;
      const page = (since = START_CURSOR, limit = 100) =>
        storage.read((reader) => reader.pull({ clientId: clientA, since, limit }));

      const all = await page();
      expect(all).toMatchObject({ events: [first, third, fifth], hasMore: false });
      const firstTwo = await page(START_CURSOR, 2);
      expect(firstTwo).toMatchObject({ events: [first, third], hasMore: true });
      const rest = await page(firstTwo.cursor);
      expect(rest).toMatchObject({ events: [fifth], hasMore: false });
      const afterLast = await page(all.cursor);
      expect(afterLast).toEqual({ events: [], cursor: all.cursor, hasMore: false });
      await expect(pullAll({ clientId: ids(), limit: 100 })).resolves.toEqual([]);
      await expect(pullAll({ clientId: clientB, limit: 1 })).resolves.toEqual([second, fourth]);
    });

    it('reads a decimal serverSeq cursor, as clients of a single-writer server hold it, as "after that serverSeq"', async () => {
      const stream = newStream();
      await write({ clientId: clientA, linkedStreams: [stream] });
      const [first, second] = await storage.transaction((tx) =>
        decide(tx, [(seq) => confirmation(stream, seq), (seq) => rejection(stream, seq)]),
      );
      const since = parsePullCursor(String(first?.serverSeq));
      if (since === null) throw new Error('a decimal serverSeq is a cursor');
      await expect(pullAll({ clientId: clientA, limit: 10, since })).resolves.toEqual([second]);
    });

    it('includes server events written before the client was linked to the stream', async () => {
      const stream = newStream();
      const early = await storage.transaction((tx) =>
        decide(tx, [(seq) => confirmation(stream, seq)], clientB),
      );
      await write({ clientId: clientB, linkedStreams: [stream] });
      await expect(pullAll({ clientId: clientB, limit: 10 })).resolves.toEqual(early);
    });

    it('keeps separate versions per stream', async () => {
      const one = newStream();
      const two = newStream();
      await write({
        clientId: clientA,
        clientEvents: [clientEvent(one, 1), clientEvent(two, 1), clientEvent(one, 2)],
      });
      const versions = await storage.read(async (reader) => [
        await versionOf(reader, one),
        await versionOf(reader, two),
      ]);
      expect(versions).toEqual([2, 1]);
    });

    it('counts events, streams, server events by type and duplicates answered', async () => {
      const one = newStream();
      const two = newStream();
      await storage.transaction(async (tx) => {
        await tx.write({
          clientId: clientA,
          clientEvents: [clientEvent(one, 1), clientEvent(one, 2), clientEvent(two, 1)],
          duplicatesAnswered: 1,
        });
        await decide(tx, [
          (seq) => confirmation(one, seq),
          (seq) => rejection(two, seq),
          (seq) => confirmation(two, seq),
        ]);
      });
      await write({ clientId: clientB, duplicatesAnswered: 3 });
      await expect(storage.read((reader) => reader.stats())).resolves.toMatchObject({
        eventsStored: 3,
        streams: 2,
        serverEvents: 3,
        serverEventsByType: { LedgerApproved: 2, LedgerDeclined: 1 },
        duplicatesAnswered: 4,
      });
    });

    describe('owners (AUTH=users)', () => {
      const owners = (stream: string, clientId = clientA) =>
        storage.read(async (reader) => [
          (await streamOf(reader, stream))?.owner,
          await reader.clientOwner(clientId),
        ]);

      it('knows no owner for a stream or client until one is claimed, then keeps it', async () => {
        const stream = newStream();
        await expect(owners(stream)).resolves.toEqual([undefined, undefined]);
        const claims = { owner: 'alice', client: true, streams: [stream] };
        await write({ clientId: clientA, claims });
        // Claiming again for the same user is a no-op, not a conflict.
        await write({ clientId: clientA, claims });
        await expect(owners(stream)).resolves.toEqual(['alice', 'alice']);
      });

      it("refuses another user's claim on a stream or a client with an owner conflict", async () => {
        const stream = newStream();
        await write({ clientId: clientA, claims: { owner: 'alice', client: true, streams: [stream] } });
        for (const claims of [
          { owner: 'bob', client: false, streams: [stream] },
          { owner: 'bob', client: true, streams: [] },
        ]) {
          const failure = write({ clientId: clientA, claims });
          await expect(failure).rejects.toBeInstanceOf(StorageConflictError);
          await expect(failure).rejects.toMatchObject({ constraint: 'owner' });
        }
        await expect(owners(stream)).resolves.toEqual(['alice', 'alice']);
      });

      it('gives a stream to only one of two users claiming it at once', async () => {
        const stream = newStream();
        const outcomes = await Promise.allSettled(
          ['alice', 'bob'].map((owner) =>
            write({ clientId: ids(), claims: { owner, client: false, streams: [stream] } }),
          ),
        );
        expect(outcomes.filter((outcome) => outcome.status === 'fulfilled')).toHaveLength(1);
        const [owner] = await owners(stream);
        expect(['alice', 'bob']).toContain(owner);
      });

      it('rolls claims back with the transaction they were made in', async () => {
        const stream = newStream();
        const failure = storage.transaction(async (tx) => {
          await tx.write({ clientId: clientB, claims: { owner: 'alice', client: true, streams: [stream] } });
          throw new Error('abandon');
        });
        await expect(failure).rejects.toThrow('abandon');
        await expect(owners(stream, clientB)).resolves.toEqual([undefined, undefined]);
        await write({ clientId: clientB, claims: { owner: 'bob', client: false, streams: [stream] } });
        await expect(owners(stream, clientB)).resolves.toEqual(['bob', undefined]);
      });

      it("pulls, for an owner, only the server events of that owner's streams among the client's", async () => {
        const alices = newStream();
        const bobs = newStream();
        const unowned = newStream();
        await write({ clientId: clientA, claims: { owner: 'alice', client: false, streams: [alices] } });
        await write({ clientId: clientA, claims: { owner: 'bob', client: false, streams: [bobs] } });
        await write({ clientId: clientA, linkedStreams: [alices, bobs, unowned] });
        const stored = await storage.transaction((tx) =>
          decide(
            tx,
            [alices, bobs, unowned].map((stream) => (seq: number) => rejection(stream, seq)),
          ),
        );
        expect({
          alice: await pullAll({ clientId: clientA, limit: 10, owner: 'alice' }),
          bob: await pullAll({ clientId: clientA, limit: 10, owner: 'bob' }),
          nobody: await pullAll({ clientId: clientA, limit: 10, owner: 'carol' }),
          unscoped: (await pullAll({ clientId: clientA, limit: 10 })).length,
        }).toEqual({ alice: [stored[0]], bob: [stored[1]], nobody: [], unscoped: 3 });
      });
    });
  });
}
