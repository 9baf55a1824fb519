import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import type { OrderCommand } from '../../../src/orders/domain/commands';
import { streamIdOf } from '../../../src/orders/stream-ids';
import { rebuildReadModels } from '../../../src/outbox/device/read-models/rebuild';
import type { OutpostDb } from '../../../src/outbox/page/database';
import { orderSummary } from '../../support/order-rows';
import {
  applyServerEvents,
  deliverOutbox,
  discardFrom,
  leaseOutbox,
  makeStore,
  must,
  type Store,
  serverEvent,
  updateOutbox,
} from './fixtures';

const ORDERS = 3;
const SKUS = ['ESP-1', 'TEA-1', 'DISC-9'] as const;

/** One step of a session: a command, a server decision, a change of an outbox row, a discard, or time passing. */
const step = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('create' as const),
      order: fc.nat(ORDERS - 1),
      name: fc.constantFrom('Ada', 'Grace', 'Linus'),
    }),
  },
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('add' as const),
      order: fc.nat(ORDERS - 1),
      sku: fc.constantFrom(...SKUS),
      quantity: fc.integer({ min: 1, max: 600 }),
      price: fc.constantFrom(100, 250),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('change' as const),
      order: fc.nat(ORDERS - 1),
      sku: fc.constantFrom(...SKUS),
      quantity: fc.integer({ min: 1, max: 999 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('remove' as const),
      order: fc.nat(ORDERS - 1),
      sku: fc.constantFrom(...SKUS),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('place' as const), order: fc.nat(ORDERS - 1) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('cancel' as const), order: fc.nat(ORDERS - 1) }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('server' as const),
      order: fc.nat(ORDERS - 1),
      confirm: fc.boolean(),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('outbox' as const),
      pick: fc.nat(),
      status: fc.constantFrom('inflight' as const, 'delivered' as const, 'dead' as const, 'pending' as const),
      batch: fc.nat(),
      attempts: fc.nat(3),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('discard' as const),
      order: fc.nat(ORDERS - 1),
      offset: fc.nat(3),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant('tick' as const), ms: fc.integer({ min: 1, max: 60_000 }) }),
  },
);

type Step = typeof step extends fc.Arbitrary<infer T> ? T : never;

/** Everything a rebuild writes: snapshots, delivery facts and every stream type's read model tables. */
const derivedTables = (db: OutpostDb): string[] => [
  'streams',
  'deliveries',
  ...Object.keys(db.streamTypes.tables),
];

async function readModels(db: OutpostDb): Promise<Record<string, unknown[]>> {
  const names = derivedTables(db);
  const rows = await Promise.all(names.map((name) => db.table(name).toArray()));
  return Object.fromEntries(names.map((name, index) => [name, rows[index] ?? []]));
}

function commandOf(s: Step, orderId: string): OrderCommand | null {
  switch (s.kind) {
    case 'create':
      return { type: 'CreateOrder', orderId, customerName: s.name, currency: 'EUR' };
    case 'add':
      return {
        type: 'AddProduct',
        orderId,
        sku: s.sku,
        name: `Product ${s.sku}`,
        quantity: s.quantity,
        unitPrice: s.price,
      };
    case 'change':
      return { type: 'ChangeQuantity', orderId, sku: s.sku, quantity: s.quantity };
    case 'remove':
      return { type: 'RemoveProduct', orderId, sku: s.sku };
    case 'place':
      return { type: 'PlaceOrder', orderId };
    case 'cancel':
      return { type: 'CancelOrder', orderId, reason: 'Customer called' };
    default:
      return null;
  }
}

async function run(store: Store, orderIds: readonly string[], s: Step): Promise<void> {
  const { db, clock, ids, handler } = store;
  const at = () => new Date(clock.now()).toISOString();
  const command = 'order' in s ? commandOf(s, orderIds[s.order] ?? '') : null;
  if (command) {
    // Refusals are part of the story: they must write nothing, so the rebuild must not see them either.
    await handler.execute({ command });
    return;
  }
  switch (s.kind) {
    case 'server': {
      const streamId = streamIdOf(orderIds[s.order] ?? '');
      const decision = s.confirm
        ? ({
            type: 'OrderConfirmed',
            orderNumber: `SO-${String(clock.now() % 1_000_000).padStart(6, '0')}`,
          } as const)
        : ({ type: 'OrderRejected', code: 'credit_limit', reason: 'Over the limit' } as const);
      await applyServerEvents(db, [serverEvent(streamId, at(), decision, ids())]);
      return;
    }
    case 'outbox': {
      const rows = await db.outbox.orderBy('position').toArray();
      const row = rows[s.pick % Math.max(rows.length, 1)];
      if (!row) return;
      // In flight is a lease record naming the row, delivered is the row deleted (src/outbox/device/read-models/outbox-view.ts).
      if (s.status === 'delivered') await deliverOutbox(db, [row.eventId]);
      else if (s.status === 'inflight')
        await leaseOutbox(db, [row.eventId], { batchId: `batch-${s.batch}-${ids()}` });
      else
        await updateOutbox(db, [row.eventId], {
          status: s.status,
          attempts: s.attempts,
          lastError: 'HTTP 500',
        });
      return;
    }
    case 'discard': {
      const streamId = streamIdOf(orderIds[s.order] ?? '');
      const undelivered = await db.outbox.where('streamId').equals(streamId).toArray();
      const from = undelivered.sort((a, b) => a.version - b.version)[0];
      if (from) await discardFrom(db, streamId, from.version + s.offset, 'Given up', at(), ids);
      return;
    }
    case 'tick':
      clock.advance(s.ms);
      return;
    default:
      return;
  }
}

let store: Store | undefined;
afterEach(() => store?.db.close());

describe('rebuildReadModels', () => {
  // REBUILD_RUNS=500 runs a longer unseeded search; the default is seeded so CI is reproducible.
  it('reproduces the inline read models exactly after any session', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(step, { minLength: 5, maxLength: 80, size: 'max' }),
        fc.integer({ min: 1, max: 40 }),
        async (steps, pageSize) => {
          store?.db.close();
          store = makeStore();
          const orderIds = Array.from({ length: ORDERS }, () => store?.ids() ?? '');
          // Every session starts with the orders created, so most steps land on a real order.
          for (const orderId of orderIds)
            await must(
              store.handler.execute({
                command: { type: 'CreateOrder', orderId, customerName: 'Ada', currency: 'EUR' },
              }),
            );
          for (const s of steps) await run(store, orderIds, s);

          const inline = await readModels(store.db);
          await rebuildReadModels(store.db, pageSize);
          expect(await readModels(store.db)).toEqual(inline);
        },
      ),
      process.env.REBUILD_RUNS
        ? { numRuns: Number(process.env.REBUILD_RUNS) }
        : { seed: 20261126, numRuns: 50 },
    );
  }, 120_000);

  it('restores a discarded stream, so the order still takes no commands', async () => {
    store = makeStore();
    const orderId = store.ids();
    const { db, handler, ids } = store;
    await must(
      handler.execute({ command: { type: 'CreateOrder', orderId, customerName: 'Ada', currency: 'EUR' } }),
    );
    await must(
      handler.execute({
        command: { type: 'AddProduct', orderId, sku: 'ESP-1', name: 'Espresso', quantity: 1, unitPrice: 250 },
      }),
    );
    await discardFrom(db, streamIdOf(orderId), 2, 'Given up', '2026-11-26T13:00:00.000Z', ids);
    await rebuildReadModels(db);
    expect((await db.streams.get(streamIdOf(orderId)))?.discardedFromVersion).toBe(2);
    const result = await handler.execute({ command: { type: 'RemoveProduct', orderId, sku: 'ESP-1' } });
    expect(!result.ok && result.error.code).toBe('stream_discarded');
  });

  it('brings back read models that were lost', async () => {
    store = makeStore();
    const orderId = store.ids();
    const { db, handler } = store;
    await must(
      handler.execute({ command: { type: 'CreateOrder', orderId, customerName: 'Ada', currency: 'EUR' } }),
    );
    await must(
      handler.execute({
        command: { type: 'AddProduct', orderId, sku: 'ESP-1', name: 'Espresso', quantity: 3, unitPrice: 250 },
      }),
    );
    const inline = await readModels(db);
    await db.transaction('rw', derivedTables(db), async () => {
      await Promise.all(derivedTables(db).map((name) => db.table(name).clear()));
    });
    await rebuildReadModels(db);
    expect(await readModels(db)).toEqual(inline);
    expect((await orderSummary(db, orderId))?.total).toBe(750);
  });
});
