import Dexie from 'dexie';
import { afterEach, describe, expect, it } from 'vitest';
import { openAppDb } from '../../../src/app/schema';
import { readMedianAcknowledgementMs, readOrderInsights } from '../../../src/orders/page/order-insights';
import { readOrderSummaries } from '../../../src/orders/page/order-summaries';

/**
 * Version 5 adds the order's counter rows and the `[status+customerKey]` index, and drops the analytics
 * subscriber's `meta` row. A database version 4 left (events, its read models, that row) opens with every
 * counter rebuilt from the events before the first read. test/unit/store-migration.test.ts keeps checking
 * versions 1 to 3, whose order tables this one no longer has.
 */

/** Version 4's layout exactly as it shipped: the core's tables and the two plug-ins' own. */
const V4 = {
  events: '++position, &eventId, &[streamId+version], streamId',
  outbox: '&eventId, position, [status+position], streamId, [streamId+version]',
  leases: '&batchId',
  streams: '&streamId',
  commands: '&commandId',
  deliveries: '&streamId',
  meta: '&key',
  orders: '&id, status, customerKey, updatedAt',
  orderLines: '&id',
  stockCounts: '&id, status, location, updatedAt',
  stockCountLines: '&id',
};

const CLIENT_ID = '0193a000-0000-7000-8000-0000000000c1';
const DECIDED = '0193a000-0000-7000-8000-000000000001';
const WAITING = '0193a000-0000-7000-8000-000000000002';
const placedAt = '2026-11-26T12:00:00.000Z';
const decidedAt = '2026-11-26T12:00:04.000Z';

let eventNumber = 0;
function clientEvent(orderId: string, version: number, type: string, data: unknown) {
  eventNumber += 1;
  const id = `0193a000-0000-7000-8000-${String(eventNumber).padStart(12, '0')}`;
  return {
    kind: 'client',
    eventId: id,
    streamId: `order-${orderId}`,
    version,
    type,
    schemaVersion: 1,
    data,
    metadata: {
      commandId: id,
      correlationId: id,
      causationId: null,
      occurredAt: placedAt,
      clientId: CLIENT_ID,
    },
    occurredAt: placedAt,
  };
}

const placedOrder = (orderId: string, customerName: string) => [
  clientEvent(orderId, 1, 'OrderCreated', { orderId, customerName, currency: 'EUR' }),
  clientEvent(orderId, 2, 'ProductAdded', { sku: 'ESP-1', name: 'Espresso', quantity: 2, unitPrice: 2490 }),
  clientEvent(orderId, 3, 'OrderPlaced', { total: 4980, lineCount: 1 }),
];

const confirmation = {
  kind: 'server',
  eventId: '0193a000-0000-7000-8000-000000000901',
  streamId: `order-${DECIDED}`,
  serverSeq: 1,
  type: 'OrderConfirmed',
  schemaVersion: 1,
  data: { orderNumber: 'SO-000001', confirmedAt: decidedAt },
  occurredAt: decidedAt,
};

let names: string[] = [];
afterEach(async () => {
  for (const name of names) await Dexie.delete(name);
  names = [];
});

describe('opening a database version 4 left', () => {
  it('rebuilds the counters from the events before the first read and drops the analytics row', async () => {
    const name = `outpost-migration-v4-${Math.random().toString(36).slice(2)}`;
    names.push(name);
    const old = new Dexie(name);
    old.version(4).stores(V4);
    await old.open();
    await old.transaction('rw', ['events', 'meta'], async () => {
      await old
        .table('events')
        .bulkAdd([...placedOrder(DECIDED, 'Ada'), ...placedOrder(WAITING, 'Grace'), confirmation]);
      await old.table('meta').bulkPut([
        { key: 'clientId', value: CLIENT_ID },
        // The subscriber's fold: a map entry for every order ever created.
        { key: 'analytics', value: { cursor: 7, currencies: { [`order-${DECIDED}`]: 'EUR' } } },
      ]);
    });
    old.close();

    // The page's own way in: layouts now, the plug-ins loaded by the rebuild the upgrade owes.
    const db = openAppDb({ name });
    const insights = await readOrderInsights(db, ['2026-11-26']);
    expect(insights).toMatchObject({ confirmed: 1, rejected: 0, waiting: 1, confirmationRate: 1 });
    expect(insights.revenue).toEqual([{ id: 'EUR', confirmed: 4980 }]);
    expect(insights.days).toEqual([{ id: '2026-11-26', placed: 2, confirmed: 1, rejected: 0 }]);
    expect(await readMedianAcknowledgementMs(db)).toBe(4000);

    const now = Date.parse(decidedAt);
    expect((await readOrderSummaries(db, {}, now)).total).toBe(2);
    const placed = await readOrderSummaries(db, { status: 'placed', search: 'gr' }, now);
    expect([placed.total, placed.rows.map((row) => row.id)]).toEqual([1, [WAITING]]);

    expect(await db.meta.get('analytics')).toBeUndefined();
    expect(await db.meta.get('readModelsRebuildOwed')).toBeUndefined();
    expect(await db.meta.get('clientId')).toEqual({ key: 'clientId', value: CLIENT_ID });
    expect(await db.events.count()).toBe(7);
    db.close();
  });
});
