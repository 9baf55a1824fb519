import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { uuidv7Generator } from '../../src/outbox/ids';
import type { WireClientEvent, WireServerEvent } from '../../src/outbox/protocol/messages';
import {
  type ServerStorage,
  type ServerStorageTx,
  StorageConflictError,
} from '../../src/outbox/server/storage';

/**
 * What every `ServerStorage` must do, whatever it is built on: run it with
 * `runStorageContract('sqlite', async () => ({ storage, cleanup }))`. Each test gets a fresh, empty storage.
 */
export function runStorageContract(
  name: string,
  makeStorage: () => Promise<{ storage: ServerStorage; cleanup(): Promise<void> }>,
): void {
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
        const orderId = streamId.slice('order-'.length);
        return {
          eventId,
          streamId,
          version,
          schemaVersion: 1,
          type: 'OrderCreated',
          data: { orderId, customerName: 'Ada Lovelace', currency: 'EUR' },
          metadata,
        };
      }
      return {
        eventId,
        streamId,
        version,
        schemaVersion: 1,
        type: 'ProductAdded',
        data: { sku: `SKU-${version}`, name: 'Widget', quantity: 2, unitPrice: 1250 },
        metadata,
      };
    }

    function confirmation(streamId: string, serverSeq: number): Omit<WireServerEvent, 'serverSeq'> {
      return {
        eventId: ids(),
        streamId,
        occurredAt: '2026-11-26T12:00:01.000Z',
        type: 'OrderConfirmed',
        data: {
          orderNumber: `SO-${String(serverSeq).padStart(6, '0')}`,
          confirmedAt: '2026-11-26T12:00:01.000Z',
        },
      };
    }

    function rejection(streamId: string): Omit<WireServerEvent, 'serverSeq'> {
      return {
        eventId: ids(),
        streamId,
        occurredAt: '2026-11-26T12:00:01.000Z',
        type: 'OrderRejected',
        data: { code: 'credit_limit', reason: 'Over the limit' },
      };
    }

    const newStream = (): string => `order-${ids()}`;

    it('starts empty', async () => {
      const stream = newStream();
      const seen = await storage.read((reader) => ({
        version: reader.streamVersion(stream),
        events: reader.streamEvents(stream),
        found: reader.findClientEvent(ids()),
        lastSeq: reader.lastServerSeq(),
        pulled: reader.serverEventsForClient(clientA, 0, 10),
        stats: reader.stats(),
      }));
      expect(seen).toEqual({
        version: 0,
        events: [],
        found: undefined,
        lastSeq: 0,
        pulled: [],
        stats: {
          eventsStored: 0,
          streams: 0,
          serverEvents: 0,
          serverEventsByType: {},
          duplicatesAnswered: 0,
        },
      });
    });

    it('returns stored client events exactly as they were stored, in version order', async () => {
      const stream = newStream();
      const events = [clientEvent(stream, 1), clientEvent(stream, 2), clientEvent(stream, 3)];
      await storage.transaction((tx) => {
        for (const event of events) tx.appendClientEvent(event, clientA);
      });
      const seen = await storage.read((reader) => ({
        version: reader.streamVersion(stream),
        events: reader.streamEvents(stream),
        second: reader.findClientEvent(events[1]?.eventId ?? ''),
      }));
      expect(seen.version).toBe(3);
      expect(seen.events).toEqual(events);
      expect(seen.second).toEqual(events[1]);
    });

    it('lets a transaction read its own writes before it commits', async () => {
      const stream = newStream();
      const first = clientEvent(stream, 1);
      const seen = await storage.transaction((tx) => {
        tx.appendClientEvent(first, clientA);
        const seq = tx.appendServerEvent(confirmation(stream, 1)).serverSeq;
        return {
          found: tx.findClientEvent(first.eventId),
          version: tx.streamVersion(stream),
          lastSeq: tx.lastServerSeq(),
          seq,
        };
      });
      expect(seen).toEqual({ found: first, version: 1, lastSeq: seen.seq, seq: 1 });
    });

    it('returns what the transaction work returns', async () => {
      await expect(storage.transaction(() => 42)).resolves.toBe(42);
      await expect(storage.read(() => 'read')).resolves.toBe('read');
    });

    it('refuses a second event with a stored eventId, and keeps the first', async () => {
      const stream = newStream();
      const event = clientEvent(stream, 1);
      await storage.transaction((tx) => tx.appendClientEvent(event, clientA));
      const copy = { ...clientEvent(newStream(), 1), eventId: event.eventId };
      const failure = storage.transaction((tx) => tx.appendClientEvent(copy, clientA));
      await expect(failure).rejects.toBeInstanceOf(StorageConflictError);
      await expect(failure).rejects.toMatchObject({ constraint: 'eventId' });
      const seen = await storage.read((reader) => ({
        found: reader.findClientEvent(event.eventId),
        eventsStored: reader.stats().eventsStored,
        otherVersion: reader.streamVersion(copy.streamId),
      }));
      expect(seen).toEqual({ found: event, eventsStored: 1, otherVersion: 0 });
    });

    it('refuses a second event at a stored (stream, version), whatever its eventId', async () => {
      const stream = newStream();
      const event = clientEvent(stream, 1);
      await storage.transaction((tx) => tx.appendClientEvent(event, clientA));
      const rival = clientEvent(stream, 1);
      const failure = storage.transaction((tx) => tx.appendClientEvent(rival, clientA));
      await expect(failure).rejects.toBeInstanceOf(StorageConflictError);
      await expect(failure).rejects.toMatchObject({ constraint: 'streamVersion' });
      const seen = await storage.read((reader) => ({
        events: reader.streamEvents(stream),
        rival: reader.findClientEvent(rival.eventId),
      }));
      expect(seen).toEqual({ events: [event], rival: undefined });
    });

    it('stores only one of two concurrent transactions writing the same event', async () => {
      const stream = newStream();
      const event = clientEvent(stream, 1);
      const outcomes = await Promise.allSettled([
        storage.transaction((tx) => tx.appendClientEvent(event, clientA)),
        storage.transaction((tx) => tx.appendClientEvent(event, clientB)),
      ]);
      expect(outcomes.filter((outcome) => outcome.status === 'fulfilled')).toHaveLength(1);
      const refused = outcomes.find((outcome) => outcome.status === 'rejected');
      expect(refused?.status === 'rejected' && refused.reason).toBeInstanceOf(StorageConflictError);
      await expect(storage.read((reader) => reader.stats().eventsStored)).resolves.toBe(1);
    });

    it('leaves nothing behind when the work throws, and the error reaches the caller', async () => {
      const kept = newStream();
      await storage.transaction((tx) => {
        tx.appendClientEvent(clientEvent(kept, 1), clientA);
        tx.linkClientToStream(clientA, kept);
        tx.appendServerEvent(confirmation(kept, 1));
      });
      const before = await storage.read((reader) => reader.stats());

      const doomed = newStream();
      const boom = new Error('work failed half-way');
      const failure = storage.transaction((tx) => {
        tx.appendClientEvent(clientEvent(doomed, 1), clientB);
        tx.appendClientEvent(clientEvent(kept, 2), clientB);
        tx.appendServerEvent(confirmation(doomed, 2));
        tx.linkClientToStream(clientB, doomed);
        tx.linkClientToStream(clientB, kept);
        tx.increment('duplicatesAnswered', 5);
        throw boom;
      });
      await expect(failure).rejects.toBe(boom);

      const after = await storage.read((reader) => ({
        stats: reader.stats(),
        doomedVersion: reader.streamVersion(doomed),
        keptVersion: reader.streamVersion(kept),
        lastSeq: reader.lastServerSeq(),
        pulledByB: reader.serverEventsForClient(clientB, 0, 10),
      }));
      expect(after).toEqual({ stats: before, doomedVersion: 0, keptVersion: 1, lastSeq: 1, pulledByB: [] });

      // The rolled-back serverSeq is not burnt: order numbers stay dense.
      const next = await storage.transaction((tx) => tx.appendServerEvent(confirmation(kept, 2)));
      expect(next.serverSeq).toBe(2);
    });

    it('rolls back a transaction refused by a uniqueness constraint half-way', async () => {
      const stream = newStream();
      const first = clientEvent(stream, 1);
      await storage.transaction((tx) => tx.appendClientEvent(first, clientA));
      const fresh = newStream();
      const failure = storage.transaction((tx) => {
        tx.appendClientEvent(clientEvent(fresh, 1), clientA);
        tx.appendServerEvent(confirmation(fresh, 1));
        tx.appendClientEvent(first, clientA);
      });
      await expect(failure).rejects.toBeInstanceOf(StorageConflictError);
      const seen = await storage.read((reader) => ({
        freshVersion: reader.streamVersion(fresh),
        lastSeq: reader.lastServerSeq(),
        eventsStored: reader.stats().eventsStored,
      }));
      expect(seen).toEqual({ freshVersion: 0, lastSeq: 0, eventsStored: 1 });
    });

    it('assigns serverSeq 1, 2, 3, … across transactions, the next always lastServerSeq + 1', async () => {
      const stream = newStream();
      const seqs: number[] = [];
      for (let round = 0; round < 3; round += 1) {
        const pair = await storage.transaction((tx) => {
          const expected = tx.lastServerSeq() + 1;
          const first = tx.appendServerEvent(confirmation(stream, expected));
          const second = tx.appendServerEvent(rejection(stream));
          return { expected, first: first.serverSeq, second: second.serverSeq };
        });
        expect(pair.first).toBe(pair.expected);
        seqs.push(pair.first, pair.second);
      }
      expect(seqs).toEqual([1, 2, 3, 4, 5, 6]);
      await expect(storage.read((reader) => reader.lastServerSeq())).resolves.toBe(6);
    });

    it('returns an appended server event with its serverSeq and the fields it was given', async () => {
      const stream = newStream();
      const given = confirmation(stream, 1);
      const stored = await storage.transaction((tx) => tx.appendServerEvent(given));
      expect(stored).toEqual({ ...given, serverSeq: 1 });
    });

    it('gives a client the server events of the streams it is linked to only, after a seq, ascending', async () => {
      const mine = newStream();
      const alsoMine = newStream();
      const theirs = newStream();
      const stored = await storage.transaction((tx) => {
        tx.linkClientToStream(clientA, mine);
        tx.linkClientToStream(clientA, alsoMine);
        tx.linkClientToStream(clientA, mine);
        tx.linkClientToStream(clientB, theirs);
        return [
          tx.appendServerEvent(confirmation(mine, 1)),
          tx.appendServerEvent(confirmation(theirs, 2)),
          tx.appendServerEvent(rejection(alsoMine)),
          tx.appendServerEvent(confirmation(theirs, 4)),
          tx.appendServerEvent(rejection(mine)),
        ];
      });
      const [first, , third, , fifth] = stored;
      const seen = await storage.read((reader) => ({
        all: reader.serverEventsForClient(clientA, 0, 100),
        afterFirst: reader.serverEventsForClient(clientA, 1, 100),
        limited: reader.serverEventsForClient(clientA, 0, 2),
        afterLast: reader.serverEventsForClient(clientA, 5, 100),
        stranger: reader.serverEventsForClient(ids(), 0, 100),
        theirs: reader.serverEventsForClient(clientB, 0, 100).map((event) => event.serverSeq),
      }));
      expect(seen.all).toEqual([first, third, fifth]);
      expect(seen.afterFirst).toEqual([third, fifth]);
      expect(seen.limited).toEqual([first, third]);
      expect(seen.afterLast).toEqual([]);
      expect(seen.stranger).toEqual([]);
      expect(seen.theirs).toEqual([2, 4]);
    });

    it('includes server events written before the client was linked to the stream', async () => {
      const stream = newStream();
      const early = await storage.transaction((tx) => tx.appendServerEvent(confirmation(stream, 1)));
      await storage.transaction((tx) => tx.linkClientToStream(clientB, stream));
      await expect(storage.read((reader) => reader.serverEventsForClient(clientB, 0, 10))).resolves.toEqual([
        early,
      ]);
    });

    it('keeps separate versions per stream', async () => {
      const one = newStream();
      const two = newStream();
      await storage.transaction((tx) => {
        tx.appendClientEvent(clientEvent(one, 1), clientA);
        tx.appendClientEvent(clientEvent(two, 1), clientA);
        tx.appendClientEvent(clientEvent(one, 2), clientA);
      });
      const versions = await storage.read((reader) => [reader.streamVersion(one), reader.streamVersion(two)]);
      expect(versions).toEqual([2, 1]);
    });

    it('counts events, streams, server events by type and duplicates answered', async () => {
      const one = newStream();
      const two = newStream();
      await storage.transaction((tx) => {
        tx.appendClientEvent(clientEvent(one, 1), clientA);
        tx.appendClientEvent(clientEvent(one, 2), clientA);
        tx.appendClientEvent(clientEvent(two, 1), clientA);
        tx.appendServerEvent(confirmation(one, 1));
        tx.appendServerEvent(rejection(two));
        tx.appendServerEvent(confirmation(two, 3));
        tx.increment('duplicatesAnswered');
      });
      await storage.transaction((tx) => tx.increment('duplicatesAnswered', 3));
      await expect(storage.read((reader) => reader.stats())).resolves.toEqual({
        eventsStored: 3,
        streams: 2,
        serverEvents: 3,
        serverEventsByType: { OrderConfirmed: 2, OrderRejected: 1 },
        duplicatesAnswered: 4,
      });
    });

    describe('owners (AUTH=users)', () => {
      it('knows no owner for a stream or client until one is claimed, then keeps it', async () => {
        const stream = newStream();
        const before = await storage.read((reader) => [
          reader.streamOwner(stream),
          reader.clientOwner(clientA),
        ]);
        expect(before).toEqual([undefined, undefined]);
        await storage.transaction((tx) => {
          tx.claimStream(stream, 'alice');
          tx.claimClient(clientA, 'alice');
          // Claiming again for the same user is a no-op, not a conflict.
          tx.claimStream(stream, 'alice');
          tx.claimClient(clientA, 'alice');
        });
        const after = await storage.read((reader) => [
          reader.streamOwner(stream),
          reader.clientOwner(clientA),
        ]);
        expect(after).toEqual(['alice', 'alice']);
      });

      it("refuses another user's claim on a stream or a client with an owner conflict", async () => {
        const stream = newStream();
        await storage.transaction((tx) => {
          tx.claimStream(stream, 'alice');
          tx.claimClient(clientA, 'alice');
        });
        for (const claim of [
          (tx: ServerStorageTx) => tx.claimStream(stream, 'bob'),
          (tx: ServerStorageTx) => tx.claimClient(clientA, 'bob'),
        ]) {
          const failure = storage.transaction(claim);
          await expect(failure).rejects.toBeInstanceOf(StorageConflictError);
          await expect(failure).rejects.toMatchObject({ constraint: 'owner' });
        }
        const owners = await storage.read((reader) => [
          reader.streamOwner(stream),
          reader.clientOwner(clientA),
        ]);
        expect(owners).toEqual(['alice', 'alice']);
      });

      it('rolls claims back with the transaction they were made in', async () => {
        const stream = newStream();
        const failure = storage.transaction((tx) => {
          tx.claimStream(stream, 'alice');
          tx.claimClient(clientB, 'alice');
          throw new Error('abandon');
        });
        await expect(failure).rejects.toThrow('abandon');
        const owners = await storage.read((reader) => [
          reader.streamOwner(stream),
          reader.clientOwner(clientB),
        ]);
        expect(owners).toEqual([undefined, undefined]);
        await storage.transaction((tx) => tx.claimStream(stream, 'bob'));
        await expect(storage.read((reader) => reader.streamOwner(stream))).resolves.toBe('bob');
      });

      it("pulls, for an owner, only the server events of that owner's streams among the client's", async () => {
        const alices = newStream();
        const bobs = newStream();
        const unowned = newStream();
        const stored = await storage.transaction((tx) => {
          tx.claimStream(alices, 'alice');
          tx.claimStream(bobs, 'bob');
          for (const stream of [alices, bobs, unowned]) tx.linkClientToStream(clientA, stream);
          return [alices, bobs, unowned].map((stream) => tx.appendServerEvent(rejection(stream)));
        });
        const seen = await storage.read((reader) => ({
          alice: reader.serverEventsForClient(clientA, 0, 10, 'alice'),
          bob: reader.serverEventsForClient(clientA, 0, 10, 'bob'),
          nobody: reader.serverEventsForClient(clientA, 0, 10, 'carol'),
          unscoped: reader.serverEventsForClient(clientA, 0, 10).length,
        }));
        expect(seen).toEqual({ alice: [stored[0]], bob: [stored[1]], nobody: [], unscoped: 3 });
      });
    });
  });
}
