import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import type { OrderCommand } from '../../../src/orders/domain/commands';
import type { OrderStatus } from '../../../src/orders/domain/order';
import type { OrderDay } from '../../../src/orders/order-count-rows';
import { readMedianAcknowledgementMs, readOrderInsights } from '../../../src/orders/order-insights';
import { readOrderSummaries } from '../../../src/orders/order-summaries';
import type { OrderSummary } from '../../../src/orders/read-models';
import { streamIdOf } from '../../../src/orders/stream-ids';
import { createCommandPipeline } from '../../../src/outbox/client/command-pipeline';
import type { OutpostDb, StoredEvent } from '../../../src/outbox/client/db';
import { rebuildReadModels } from '../../../src/outbox/client/rebuild';
import { applyServerEvents, discardFrom, makeStore, must, type Store, serverEvent } from '../store/fixtures';

/**
 * The order's counters (the list's totals, the insights) are kept step by step in the transactions that
 * store the events, instead of being counted or folded again after each one. These sessions hold them to
 * what a full scan of the event store or of the `orders` table says, and to what a rebuild writes.
 * ORDER_COUNTER_RUNS=300 runs a longer unseeded search; the default is seeded so CI is reproducible.
 */

const ORDERS = 8;
const CUSTOMERS = ['Ada', 'Adele', 'Grace', 'grant', 'Linus'] as const;
const CURRENCIES = ['EUR', 'USD'] as const;
const STATUSES: readonly (OrderStatus | undefined)[] = [
  undefined,
  'draft',
  'placed',
  'confirmed',
  'rejected',
  'cancelled',
];
const SEARCHES = ['', 'a', 'AD', ' gra', 'l', 'z'];
const WINDOWS = [{}, { offset: 0, limit: 3 }, { offset: 2, limit: 4 }, { offset: 7, limit: 50 }];

const order = fc.nat(ORDERS - 1);
const step = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('create' as const),
      order,
      name: fc.constantFrom(...CUSTOMERS),
      currency: fc.constantFrom(...CURRENCIES),
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('add' as const),
      order,
      sku: fc.constantFrom('ESP-1', 'TEA-1'),
      quantity: fc.integer({ min: 1, max: 20 }),
    }),
  },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('place' as const), order }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('cancel' as const), order }) },
  {
    weight: 3,
    arbitrary: fc.record({ kind: fc.constant('server' as const), order, confirm: fc.boolean() }),
  },
  {
    weight: 2,
    // Up to ten hours, so sessions cross UTC days.
    arbitrary: fc.record({ kind: fc.constant('tick' as const), ms: fc.integer({ min: 1, max: 36_000_000 }) }),
  },
);
const discard = fc.record({ kind: fc.constant('discard' as const), order, offset: fc.nat(2) });

type Step =
  | (typeof step extends fc.Arbitrary<infer T> ? T : never)
  | (typeof discard extends fc.Arbitrary<infer T> ? T : never);

const PRICES: Record<string, number> = { 'ESP-1': 2490, 'TEA-1': 990 };

function commandOf(s: Step, orderId: string): OrderCommand | null {
  switch (s.kind) {
    case 'create':
      return { type: 'CreateOrder', orderId, customerName: s.name, currency: s.currency };
    case 'add':
      return {
        type: 'AddProduct',
        orderId,
        sku: s.sku,
        name: `Product ${s.sku}`,
        quantity: s.quantity,
        unitPrice: PRICES[s.sku] ?? 100,
      };
    case 'place':
      return { type: 'PlaceOrder', orderId };
    case 'cancel':
      return { type: 'CancelOrder', orderId, reason: 'Customer called' };
    default:
      return null;
  }
}

let serverNumber = 0;

async function run(store: Store, orderIds: readonly string[], s: Step): Promise<void> {
  const { db, clock, ids, handler } = store;
  const at = () => new Date(clock.now()).toISOString();
  const orderId = 'order' in s ? (orderIds[s.order] ?? '') : '';
  const command = commandOf(s, orderId);
  if (command) {
    // Refusals (placing an empty order, deciding nothing) are part of the story: they write nothing.
    await handler.execute({ command });
    return;
  }
  if (s.kind === 'server') {
    serverNumber += 1;
    const decision = s.confirm
      ? ({ type: 'OrderConfirmed', orderNumber: `SO-${String(serverNumber).padStart(6, '0')}` } as const)
      : ({ type: 'OrderRejected', code: 'credit_limit', reason: 'Over the limit' } as const);
    // Like a real server, some time after the command; unlike one, on any order, even twice.
    clock.advance(250);
    await applyServerEvents(db, [serverEvent(streamIdOf(orderId), at(), decision, ids())]);
  } else if (s.kind === 'discard') {
    const undelivered = await db.outbox.where('streamId').equals(streamIdOf(orderId)).sortBy('version');
    const from = undelivered[0];
    if (from) await discardFrom(db, streamIdOf(orderId), from.version + s.offset, 'Given up', at(), ids);
  } else if (s.kind === 'tick') {
    clock.advance(s.ms);
  }
}

async function session(steps: readonly Step[]): Promise<Store> {
  const s = makeStore();
  const orderIds = Array.from({ length: ORDERS }, () => s.ids());
  for (const next of steps) await run(s, orderIds, next);
  return s;
}

/** What the insights show, folded again from every stored event (the analytics subscriber's old fold). */
function insightsFromEvents(events: readonly StoredEvent[]) {
  const currencies = new Map<string, string>();
  const open = new Map<string, { placedAt: string; total: number; currency: string }>();
  const days = new Map<string, OrderDay>();
  const revenue = new Map<string, number>();
  const samples: number[] = [];
  let confirmed = 0;
  let rejected = 0;
  const bump = (iso: string, field: 'placed' | 'confirmed' | 'rejected') => {
    const id = iso.slice(0, 10);
    const day = days.get(id) ?? { id, placed: 0, confirmed: 0, rejected: 0 };
    days.set(id, { ...day, [field]: day[field] + 1 });
  };
  for (const event of [...events].sort((a, b) => (a.position ?? 0) - (b.position ?? 0))) {
    if (event.kind === 'client' && event.type === 'OrderCreated') {
      currencies.set(event.streamId, (event.data as { currency: string }).currency);
    } else if (event.kind === 'client' && event.type === 'OrderPlaced') {
      bump(event.occurredAt, 'placed');
      const { total } = event.data as { total: number };
      open.set(event.streamId, {
        placedAt: event.occurredAt,
        total,
        currency: currencies.get(event.streamId) ?? '',
      });
    } else if (event.kind === 'server') {
      const placing = open.get(event.streamId);
      if (event.type === 'OrderConfirmed') {
        confirmed += 1;
        bump(event.occurredAt, 'confirmed');
        if (placing) revenue.set(placing.currency, (revenue.get(placing.currency) ?? 0) + placing.total);
      } else {
        rejected += 1;
        bump(event.occurredAt, 'rejected');
      }
      if (placing) {
        samples.push(Math.max(0, Date.parse(event.occurredAt) - Date.parse(placing.placedAt)));
        open.delete(event.streamId);
      }
    }
  }
  const sorted = samples.sort((a, b) => a - b);
  return {
    confirmed,
    rejected,
    waiting: open.size,
    confirmationRate: confirmed + rejected === 0 ? null : confirmed / (confirmed + rejected),
    revenue: [...revenue]
      .map(([id, minor]) => ({ id, confirmed: minor }))
      .sort((a, b) => a.id.localeCompare(b.id)),
    days: [...days.values()].sort((a, b) => a.id.localeCompare(b.id)),
    medianAckMs: sorted.length === 0 ? null : (sorted[Math.floor((sorted.length - 1) / 2)] ?? null),
  };
}

/** Every table the order's read models own, row by row. */
async function orderTables(db: OutpostDb): Promise<Record<string, unknown[]>> {
  const names = [...Object.keys(db.streamTypes.tables), 'streams'];
  const rows = await Promise.all(names.map((name) => db.table(name).toArray()));
  return Object.fromEntries(names.map((name, index) => [name, rows[index] ?? []]));
}

/** The orders list as a full scan of `orders` finds it: filtered, then in the list's order. */
function scanned(all: readonly OrderSummary[], status: OrderStatus | undefined, search: string) {
  const key = search.trim().toLowerCase();
  return all
    .filter((row) => (status === undefined || row.status === status) && row.customerKey.startsWith(key))
    .sort((a, b) =>
      key ? a.customerKey.localeCompare(b.customerKey) || (a.id < b.id ? -1 : 1) : a.id < b.id ? 1 : -1,
    );
}

const runs = (seed: number) =>
  process.env.ORDER_COUNTER_RUNS
    ? { numRuns: Number(process.env.ORDER_COUNTER_RUNS) }
    : { seed, numRuns: 25 };

let store: Store | undefined;
afterEach(() => store?.db.close());

describe("the order's counters after a random session", () => {
  it('give the analytics totals a recomputation from the event store gives, and a rebuild writes the same rows', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(step, { minLength: 10, maxLength: 70 }),
        fc.integer({ min: 1, max: 30 }),
        async (steps, pageSize) => {
          store?.db.close();
          store = await session(steps);
          const { db } = store;
          const expected = insightsFromEvents(await db.events.toArray());

          const days = expected.days.map((day) => day.id);
          const insights = await readOrderInsights(db, days);
          expect({ ...insights, medianAckMs: await readMedianAcknowledgementMs(db) }).toEqual(expected);

          const inline = await orderTables(db);
          await rebuildReadModels(db, pageSize);
          expect(await orderTables(db)).toEqual(inline);
        },
      ),
      runs(20261127),
    );
  }, 120_000);

  it("give the list's total and window a full scan gives, for every filter, discards included", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.oneof(step, discard), { minLength: 10, maxLength: 70 }), async (steps) => {
        store?.db.close();
        store = await session(steps);
        const { db, clock } = store;
        const all = await db.table<OrderSummary, string>('orders').toArray();
        for (const status of STATUSES) {
          for (const search of SEARCHES) {
            const matching = scanned(all, status, search);
            for (const window of WINDOWS) {
              const page = await readOrderSummaries(
                db,
                { ...(status ? { status } : {}), search, ...window },
                clock.now(),
              );
              const from = window.offset ?? 0;
              const to = window.limit === undefined ? undefined : from + window.limit;
              expect(page.total).toBe(matching.length);
              expect(page.rows.map((row) => row.id)).toEqual(matching.slice(from, to).map((row) => row.id));
            }
          }
        }
      }),
      runs(20261128),
    );
  }, 120_000);
});

describe('a command', () => {
  it('reads and writes the same rows with a long history as with none', async () => {
    const work = async (history: number) => {
      store?.db.close();
      store = makeStore();
      const { handler, ids, db } = store;
      // The history: orders created, filled and placed, in one group each (one transaction, like a seed).
      const earlier = Array.from({ length: history }, () => ids());
      const all = (commands: OrderCommand[]) =>
        Promise.all(commands.map((command) => must(handler.execute({ command }))));
      await all(
        earlier.map((orderId) => ({ type: 'CreateOrder', orderId, customerName: 'Ada', currency: 'EUR' })),
      );
      await all(
        earlier.map((orderId) => ({
          type: 'AddProduct',
          orderId,
          sku: 'ESP-1',
          name: 'Espresso',
          quantity: 1,
          unitPrice: 2490,
        })),
      );
      await all(earlier.map((orderId) => ({ type: 'PlaceOrder', orderId })));
      await applyServerEvents(
        db,
        earlier.map((orderId, index) =>
          serverEvent(
            streamIdOf(orderId),
            new Date(store?.clock.now() ?? 0).toISOString(),
            {
              type: 'OrderConfirmed',
              orderNumber: `SO-${String(index + 1).padStart(6, '0')}`,
            },
            ids(),
          ),
        ),
      );

      const touched = countRowsTouched(db);
      const counted = createCommandPipeline({ ...store, db: touched.db });
      const orderId = ids();
      await must(
        counted.execute({
          command: { type: 'CreateOrder', orderId, customerName: 'Grace', currency: 'EUR' },
        }),
      );
      await must(
        counted.execute({
          command: { type: 'AddProduct', orderId, sku: 'TEA-1', name: 'Tea', quantity: 2, unitPrice: 990 },
        }),
      );
      await must(counted.execute({ command: { type: 'PlaceOrder', orderId } }));
      return touched.rows;
    };
    const empty = await work(0);
    const long = await work(300);
    expect(long).toEqual(empty);
    // And it is a handful: three commands, each a few rows per table.
    expect(Object.values(long).reduce((sum, rows) => sum + rows, 0)).toBeLessThan(60);
  }, 60_000);
});

/**
 * The database with a `transact` that counts the rows each record reads or writes, by record name.
 */
function countRowsTouched(db: OutpostDb): { db: OutpostDb; rows: Record<string, number> } {
  const rows: Record<string, number> = {};
  const original = db.transact.bind(db);
  const size = (value: unknown): number =>
    Array.isArray(value) ? value.length : value === undefined ? 0 : 1;
  const counting: typeof db.transact = (mode, scope, work) =>
    original(mode, scope, (records) =>
      work(
        new Proxy(records, {
          get(target, name: string) {
            const record = Reflect.get(target, name) as (...args: unknown[]) => Promise<unknown>;
            return (...args: unknown[]) => {
              // A write's rows are its last argument; a read's are what it answers.
              const written = args.at(-1);
              if (Array.isArray(written) && /^(put|add|delete|append)/.test(name)) {
                rows[name] = (rows[name] ?? 0) + written.length;
              }
              return record(...args).then((answer) => {
                if (!/^(put|add|delete|append)/.test(name)) rows[name] = (rows[name] ?? 0) + size(answer);
                return answer;
              });
            };
          },
        }),
      ),
    );
  // Everything else (the stream types, Dexie's own methods) through the real database.
  return { db: Object.create(db, { transact: { value: counting } }) as OutpostDb, rows };
}
