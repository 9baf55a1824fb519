import Dexie from 'dexie';
import { afterEach, describe, expect, it } from 'vitest';
import { openDb } from '../../src/store/db';

/**
 * An installed app upgrades whatever database an earlier version left on the device. Each schema version
 * the app ever shipped is written here by hand, exactly as that version declared it, filled with events and
 * undelivered outbox rows, and then opened with today's `openDb()`: nothing may be lost or changed.
 * A new `db.version(n)` adds its predecessor to SHIPPED_SCHEMAS (and any data reshaping it does to the
 * expectations), and every older version keeps being checked.
 */
const SHIPPED_SCHEMAS: Record<number, Record<string, string>> = {
  1: {
    events: '++position, &eventId, &[streamId+version], streamId',
    outbox: '&eventId, position, [status+position], streamId, [streamId+version]',
    streams: '&streamId',
    commands: '&commandId',
    orderSummaries: '&orderId, status, syncState, updatedAt, customerKey',
    orderDetails: '&orderId',
    meta: '&key',
  },
};

const ORDER_ID = '0193a000-0000-7000-8000-000000000001';
const STREAM = `order-${ORDER_ID}`;
const CLIENT_ID = '0193a000-0000-7000-8000-0000000000c1';
const at = '2026-11-26T12:00:00.000Z';
const metadata = (n: number) => ({
  commandId: `0193a000-0000-7000-8000-00000000010${n}`,
  correlationId: `0193a000-0000-7000-8000-00000000010${n}`,
  causationId: null,
  occurredAt: at,
  clientId: CLIENT_ID,
});

const clientEvents = [
  {
    kind: 'client',
    eventId: '0193a000-0000-7000-8000-000000000201',
    streamId: STREAM,
    version: 1,
    type: 'OrderCreated',
    schemaVersion: 1,
    data: { orderId: ORDER_ID, customerName: 'Ada', currency: 'EUR' },
    metadata: metadata(1),
    occurredAt: at,
  },
  {
    kind: 'client',
    eventId: '0193a000-0000-7000-8000-000000000202',
    streamId: STREAM,
    version: 2,
    type: 'ProductAdded',
    schemaVersion: 1,
    data: { sku: 'BEANS-1', name: 'Beans', quantity: 2, unitPrice: 1250 },
    metadata: metadata(2),
    occurredAt: at,
  },
  {
    kind: 'client',
    eventId: '0193a000-0000-7000-8000-000000000203',
    streamId: STREAM,
    version: 3,
    type: 'OrderPlaced',
    schemaVersion: 1,
    data: { total: 2500, lineCount: 1 },
    metadata: metadata(3),
    occurredAt: at,
  },
];

const serverEvent = {
  kind: 'server',
  eventId: '0193a000-0000-7000-8000-000000000301',
  streamId: STREAM,
  serverSeq: 7,
  type: 'OrderConfirmed',
  schemaVersion: 1,
  data: { orderNumber: 'SO-000007', confirmedAt: at },
  occurredAt: at,
};

const outboxRow = (event: (typeof clientEvents)[number], position: number, status: string) => ({
  eventId: event.eventId,
  position,
  streamId: event.streamId,
  version: event.version,
  type: event.type,
  status,
  attempts: status === 'pending' ? 0 : 3,
  nextAttemptAt: 0,
  lastError: status === 'dead' ? 'rejected: invalid' : null,
  deadCode: status === 'dead' ? 'rejected:invalid' : null,
  leaseOwner: status === 'inflight' ? 'tab-1' : null,
  leaseUntil: status === 'inflight' ? Date.UTC(2026, 10, 26, 12, 1) : null,
  createdAt: Date.UTC(2026, 10, 26, 12),
  deliveredAt: status === 'delivered' ? Date.UTC(2026, 10, 26, 12, 0, 5) : null,
});

let names: string[] = [];
afterEach(async () => {
  for (const name of names) await Dexie.delete(name);
  names = [];
});

async function writeWithShippedSchema(version: number, name: string) {
  const schema = SHIPPED_SCHEMAS[version];
  if (!schema) throw new Error(`No shipped schema ${version}`);
  const old = new Dexie(name);
  old.version(version).stores(schema);
  await old.open();
  await old.transaction('rw', old.table('events'), old.table('outbox'), old.table('meta'), async () => {
    await old.table('events').bulkAdd([...clientEvents, serverEvent]);
    await old
      .table('outbox')
      .bulkAdd([
        outboxRow(clientEvents[0] as (typeof clientEvents)[number], 1, 'delivered'),
        outboxRow(clientEvents[1] as (typeof clientEvents)[number], 2, 'inflight'),
        outboxRow(clientEvents[2] as (typeof clientEvents)[number], 3, 'pending'),
      ]);
    await old.table('meta').put({ key: 'clientId', value: CLIENT_ID });
  });
  const before = {
    events: await old.table('events').orderBy('position').toArray(),
    outbox: await old.table('outbox').orderBy('position').toArray(),
    meta: await old.table('meta').toArray(),
  };
  old.close();
  return before;
}

describe('opening a database written by an earlier app version', () => {
  for (const version of Object.keys(SHIPPED_SCHEMAS).map(Number)) {
    it(`keeps every event, outbox row and the client id from schema version ${version}`, async () => {
      const name = `outpost-migration-v${version}-${Math.random().toString(36).slice(2)}`;
      names.push(name);
      const before = await writeWithShippedSchema(version, name);

      const db = openDb({ name });
      await db.open();
      expect(db.verno).toBeGreaterThanOrEqual(version);
      expect(await db.events.orderBy('position').toArray()).toEqual(before.events);
      expect(await db.outbox.orderBy('position').toArray()).toEqual(before.outbox);
      expect(await db.meta.get('clientId')).toEqual({ key: 'clientId', value: CLIENT_ID });

      // The indexes the sync engine relies on work on the upgraded data.
      const pending = await db.outbox
        .where('[status+position]')
        .between(['pending', 0], ['pending', Infinity])
        .toArray();
      expect(pending.map((row) => row.eventId)).toEqual([clientEvents[2]?.eventId]);
      expect(await db.events.where('[streamId+version]').equals([STREAM, 2]).first()).toMatchObject({
        type: 'ProductAdded',
      });
      db.close();
    });
  }

  it('refuses nothing and loses nothing when the same database is opened twice in a row', async () => {
    const name = `outpost-migration-reopen-${Math.random().toString(36).slice(2)}`;
    names.push(name);
    const before = await writeWithShippedSchema(1, name);
    for (let i = 0; i < 2; i += 1) {
      const db = openDb({ name });
      expect(await db.events.count()).toBe(before.events.length);
      expect(await db.outbox.count()).toBe(before.outbox.length);
      db.close();
    }
  });
});
