import { describe, expect, it } from 'vitest';
import { openAppDb } from '../../../src/app/schema';
import { SCHEMA_VERSION as SYNC_SCHEMA_VERSION } from '../../../src/app/schema-version';
import type { OutboxRow, StoredClientEvent, StoredEvent } from '../../../src/outbox/client/db';
import { DB_NAME } from '../../../src/outbox/client/db';
import { createPlainSyncDb } from '../../../src/outbox/storage/plain-db';
import {
  maxKey,
  minKey,
  SYNC_DB_NAME,
  type SyncDb,
  type SyncTables,
} from '../../../src/outbox/storage/sync-db';
import { streamTypes } from '../../../src/stream-types';

/**
 * The contract of `SyncDb`: every operation the sync path uses gives the same answer on Dexie (`openAppDb()`,
 * what pages run) and on the plain IndexedDB implementation (what the service worker runs). Each case runs
 * the same code on a fresh database per implementation and compares the two answers, then checks the
 * answer itself, so a difference and a shared mistake both fail.
 */

type Impl = 'dexie' | 'plain';

async function fresh(impl: Impl): Promise<SyncDb> {
  const name = `contract-${impl}-${crypto.randomUUID()}`;
  const dexie = openAppDb({ name });
  await dexie.open();
  if (impl === 'dexie') return dexie;
  // The worker never creates the database: a page's Dexie did, above.
  return createPlainSyncDb({
    name,
    streamTypes,
    schemaVersion: SYNC_SCHEMA_VERSION,
    notify: () => undefined,
  });
}

/** Runs `work` on both implementations, expects equal answers and returns one of them. */
async function onBoth<T>(work: (db: SyncDb) => Promise<T>): Promise<T> {
  const dexie = await work(await fresh('dexie'));
  const plain = await work(await fresh('plain'));
  expect(plain).toEqual(dexie);
  return dexie;
}

/** Outcome of a promise as a comparable value: what it resolved, or the name of what it threw. */
async function outcome<T>(promise: Promise<T>): Promise<{ ok: T } | { error: string }> {
  try {
    return { ok: await promise };
  } catch (error) {
    return { error: error instanceof Error ? error.name : String(error) };
  }
}

const outboxRow = (position: number, overrides: Partial<OutboxRow> = {}): OutboxRow => ({
  eventId: `e-${String(position).padStart(3, '0')}`,
  position,
  streamId: `order-${position % 3}`,
  version: Math.ceil(position / 3),
  type: 'OrderCreated',
  status: 'pending',
  attempts: 0,
  nextAttemptAt: 0,
  lastError: null,
  deadCode: null,
  createdAt: 1000 + position,
  ...overrides,
});

/** Ten rows, positions 1–10: 3, 6 and 9 are dead, the rest pending. */
const seedOutbox = (db: SyncDb) =>
  db.outbox.bulkPut(
    Array.from({ length: 10 }, (_, i) => outboxRow(i + 1, (i + 1) % 3 === 0 ? { status: 'dead' } : {})),
  );

const clientEvent = (streamId: string, version: number): StoredEvent =>
  ({
    kind: 'client',
    eventId: `${streamId}-v${version}`,
    streamId,
    version,
    schemaVersion: 1,
    metadata: { clientId: 'c', commandId: `cmd-${version}`, correlationId: 'x', causationId: 'x' },
    occurredAt: '2026-01-01T00:00:00.000Z',
    type: 'OrderCreated',
    data: { orderId: streamId, customerName: 'Ada', currency: 'EUR' },
  }) as unknown as StoredClientEvent;

const positions = (rows: readonly { position?: number }[]) => rows.map((row) => row.position);

describe('SyncDb contract: Dexie and plain IndexedDB answer alike', () => {
  it('OutpostDb from openAppDb() is a SyncDb as it stands (type check) and names the schema the worker expects', () => {
    const db: SyncDb = openAppDb({ name: `contract-type-${crypto.randomUUID()}` });
    expect(db.outbox.name).toBe('outbox');
    expect(openAppDb({ name: 'contract-verno' }).verno).toBe(SYNC_SCHEMA_VERSION);
    expect(SYNC_DB_NAME).toBe(DB_NAME);
  });

  it('compound ranges with open ends (minKey/maxKey) and every inclusive/exclusive bound', async () => {
    const answer = await onBoth(async (db) => {
      await seedOutbox(db);
      const status = db.outbox.where('[status+position]');
      return {
        pending: positions(await status.between(['pending', minKey], ['pending', maxKey]).toArray()),
        dead: positions(await status.between(['dead', minKey], ['dead', maxKey]).toArray()),
        defaults: positions(await status.between(['pending', 2], ['pending', 7]).toArray()),
        exclusive: positions(await status.between(['pending', 2], ['pending', 7], false, false).toArray()),
        inclusive: positions(await status.between(['pending', 2], ['pending', 7], true, true).toArray()),
        upperOnly: positions(await status.between(['pending', 2], ['pending', 7], false, true).toArray()),
        emptyPoint: positions(await status.between(['pending', 4], ['pending', 4]).toArray()),
        point: positions(await status.between(['pending', 4], ['pending', 4], true, true).toArray()),
        reversed: positions(await status.between(['pending', 7], ['pending', 2]).toArray()),
        byStreamVersion: positions(
          await db.outbox
            .where('[streamId+version]')
            .between(['order-1', 2], ['order-1', maxKey], true, true)
            .toArray(),
        ),
      };
    });
    expect(answer).toEqual({
      pending: [1, 2, 4, 5, 7, 8, 10],
      dead: [3, 6, 9],
      defaults: [2, 4, 5],
      exclusive: [4, 5],
      inclusive: [2, 4, 5, 7],
      upperOnly: [4, 5, 7],
      emptyPoint: [],
      point: [4],
      reversed: [],
      byStreamVersion: [4, 7, 10],
    });
  });

  it('limit, filter, count, first, last and sortBy over an index', async () => {
    const answer = await onBoth(async (db) => {
      await seedOutbox(db);
      const pending = () =>
        db.outbox.where('[status+position]').between(['pending', minKey], ['pending', maxKey]);
      return {
        limited: positions(await pending().limit(3).toArray()),
        limitedFromHere: positions(
          await db.outbox
            .where('[status+position]')
            .between(['pending', 4], ['pending', maxKey], false)
            .limit(2)
            .toArray(),
        ),
        filteredThenLimited: positions(
          await pending()
            .filter((row) => row.streamId === 'order-1')
            .limit(2)
            .toArray(),
        ),
        count: await pending().count(),
        deadCount: await db.outbox
          .where('[status+position]')
          .between(['dead', minKey], ['dead', maxKey])
          .count(),
        first: (await pending().first())?.position,
        last: (await pending().last())?.position,
        emptyFirst: await db.outbox
          .where('[status+position]')
          .between(['inflight', minKey], ['inflight', maxKey])
          .first(),
        lastByPosition: (await db.outbox.orderBy('position').last())?.position,
        byVersion: (await db.outbox.where('streamId').equals('order-2').sortBy('version')).map(
          (row) => row.version,
        ),
      };
    });
    expect(answer).toEqual({
      limited: [1, 2, 4],
      limitedFromHere: [5, 7],
      filteredThenLimited: [1, 4],
      count: 7,
      deadCount: 3,
      first: 1,
      last: 10,
      emptyFirst: undefined,
      lastByPosition: 10,
      byVersion: [1, 2, 3],
    });
  });

  it('equals, anyOf and index keys; get and bulkGet with missing keys', async () => {
    const answer = await onBoth(async (db) => {
      await seedOutbox(db);
      return {
        equals: positions(await db.outbox.where('streamId').equals('order-0').toArray()),
        anyOf: positions(
          await db.outbox.where('eventId').anyOf(['e-007', 'e-002', 'nope', 'e-002']).toArray(),
        ),
        anyOfKeys: await db.outbox.where('streamId').anyOf(['order-2', 'missing', 'order-0']).keys(),
        emptyAnyOf: await db.outbox.where('eventId').anyOf([]).toArray(),
        get: (await db.outbox.get('e-005'))?.position,
        missing: await db.outbox.get('nope'),
        bulkGet: (await db.outbox.bulkGet(['e-001', 'nope', 'e-010'])).map((row) => row?.position),
      };
    });
    expect(answer).toEqual({
      equals: [3, 6, 9],
      anyOf: [2, 7],
      anyOfKeys: ['order-0', 'order-0', 'order-0', 'order-2', 'order-2', 'order-2'],
      emptyAnyOf: [],
      get: 5,
      missing: undefined,
      bulkGet: [1, undefined, 10],
    });
  });

  it('bulkAdd hands out autoincrement keys in order, and the primary key is queryable by its key path', async () => {
    const answer = await onBoth(async (db) => {
      const first = await db.events.bulkAdd([clientEvent('s-a', 1), clientEvent('s-a', 2)], {
        allKeys: true,
      });
      const second = await db.events.bulkAdd(
        [clientEvent('s-b', 1), clientEvent('s-a', 3), clientEvent('s-b', 2)],
        {
          allKeys: true,
        },
      );
      return {
        first,
        second,
        stored: (await db.events.get(4))?.eventId,
        lastByPrimaryKey: (await db.events.orderBy('position').last())?.eventId,
        range: (await db.events.where('position').between(2, 4, true, true).toArray()).map((e) => e.eventId),
        eventIdKeys: await db.events.where('eventId').anyOf(['s-b-v2', 's-a-v1', 'absent']).keys(),
        byStream: positions(await db.events.where('streamId').equals('s-a').toArray()),
      };
    });
    expect(answer).toEqual({
      first: [1, 2],
      second: [3, 4, 5],
      stored: 's-a-v3',
      lastByPrimaryKey: 's-b-v2',
      range: ['s-a-v2', 's-b-v1', 's-a-v3'],
      eventIdKeys: ['s-a-v1', 's-b-v2'],
      byStream: [1, 2, 4],
    });
  });

  it('put, bulkPut, delete and bulkDelete', async () => {
    const answer = await onBoth(async (db) => {
      await seedOutbox(db);
      await db.outbox.put(outboxRow(2, { status: 'dead', deadCode: 'x' }));
      await db.outbox.delete('e-001');
      await db.outbox.bulkDelete(['e-004', 'e-005', 'nope']);
      await db.outbox.bulkPut([]);
      await db.outbox.bulkDelete([]);
      await db.meta.put({ key: 'k', value: { nested: [1, 2] } });
      return {
        rows: (await db.outbox.orderBy('position').toArray()).map((row) => `${row.position}:${row.status}`),
        meta: await db.meta.get('k'),
      };
    });
    expect(answer).toEqual({
      rows: ['2:dead', '3:dead', '6:dead', '7:pending', '8:pending', '9:dead', '10:pending'],
      meta: { key: 'k', value: { nested: [1, 2] } },
    });
  });

  it('a transaction commits every write of its scope together and resolves the scope’s result', async () => {
    const answer = await onBoth(async (db) => {
      const result = await db.transaction('rw', [db.events, db.outbox, db.meta], async (tx) => {
        const [position] = await tx.events.bulkAdd([clientEvent('s-1', 1)], { allKeys: true });
        await tx.outbox.put(outboxRow(position ?? 0, { eventId: 's-1-v1' }));
        const meta = await tx.meta.get('absent');
        await tx.meta.put({ key: 'cursor', value: 'c-1' });
        return { position, meta };
      });
      return {
        result,
        outbox: (await db.outbox.orderBy('position').toArray()).map((row) => row.eventId),
        cursor: (await db.meta.get('cursor'))?.value,
      };
    });
    expect(answer).toEqual({
      result: { position: 1, meta: undefined },
      outbox: ['s-1-v1'],
      cursor: 'c-1',
    });
  });

  it('a throw inside the scope rejects with that error and leaves nothing written', async () => {
    class Refused extends Error {
      override name = 'Refused';
    }
    const answer = await onBoth(async (db) => {
      await seedOutbox(db);
      const result = await outcome(
        db.transaction('rw', [db.outbox, db.meta, db.events], async (tx) => {
          await tx.outbox.bulkPut([outboxRow(1, { status: 'dead' }), outboxRow(11)]);
          await tx.events.bulkAdd([clientEvent('s-x', 1)], { allKeys: true });
          await tx.meta.put({ key: 'cursor', value: 'moved' });
          throw new Refused('no');
        }),
      );
      return { result, ...(await snapshot(db)) };
    });
    expect(answer.result).toEqual({ error: 'Refused' });
    expect(answer.outbox).toHaveLength(10);
    expect(answer.outbox[0]).toMatchObject({ position: 1, status: 'pending' });
    expect(answer.events).toEqual([]);
    expect(answer.meta).toEqual([]);
  });

  it('a failed request the scope does not catch (a duplicate unique key) aborts the whole transaction', async () => {
    const answer = await onBoth(async (db) => {
      const result = await outcome(
        db.transaction('rw', [db.events, db.meta], async (tx) => {
          await tx.meta.put({ key: 'cursor', value: 'moved' });
          await tx.events.bulkAdd([clientEvent('s-1', 1)], { allKeys: true });
          // eventId and [streamId+version] are unique: the second add of the same event fails.
          await tx.events.bulkAdd([clientEvent('s-1', 1)], { allKeys: true });
          return 'committed';
        }),
      );
      return { failed: 'error' in result, ...(await snapshot(db)) };
    });
    expect(answer).toEqual({ failed: true, outbox: [], events: [], meta: [] });
  });

  it('Promise.all over the scope’s reads stays inside the transaction', async () => {
    await onBoth(async (db) => {
      await seedOutbox(db);
      return db.transaction('rw', [db.outbox, db.meta], async (tx) => {
        const streams = ['order-0', 'order-1', 'order-2'];
        const rows = await Promise.all(streams.map((s) => tx.outbox.where('streamId').equals(s).toArray()));
        await tx.meta.put({ key: 'n', value: rows.flat().length });
        return (await tx.meta.get('n'))?.value;
      });
    }).then((value) => expect(value).toBe(10));
  });
});

async function snapshot(db: SyncTables) {
  return {
    outbox: await db.outbox.orderBy('position').toArray(),
    events: await db.events.orderBy('position').toArray(),
    meta: await db.meta.orderBy('key').toArray(),
  };
}
