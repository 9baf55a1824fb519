import fc from 'fast-check';
import type { OrderCommand } from '../../../src/orders/domain/commands';
import type { OrderStatus } from '../../../src/orders/domain/order';
import type { OrderDay } from '../../../src/orders/order-count-rows';
import type { OrderSummary } from '../../../src/orders/read-models';
import { streamIdOf } from '../../../src/orders/stream-ids';
import type { OutpostDb } from '../../../src/outbox/page/database';
import type { StoredEvent } from '../../../src/outbox/storage/rows';
import { applyServerEvents, discardFrom, makeStore, type Store, serverEvent } from '../store/fixtures';

/**
 * Random order sessions for the read-model properties (read-model-counters.test.ts, retention.test.ts):
 * orders created, filled, placed, cancelled and decided by the server, time moving on across UTC days, and
 * what a full scan of the event store or of the `orders` table says they should add up to.
 */

export const ORDERS = 8;
export const CUSTOMERS = ['Ada', 'Adele', 'Grace', 'grant', 'Linus'] as const;
export const CURRENCIES = ['EUR', 'USD'] as const;
export const STATUSES: readonly (OrderStatus | undefined)[] = [
  undefined,
  'draft',
  'placed',
  'confirmed',
  'rejected',
  'cancelled',
];
export const SEARCHES = ['', 'a', 'AD', ' gra', 'l', 'z'];
export const WINDOWS = [{}, { offset: 0, limit: 3 }, { offset: 2, limit: 4 }, { offset: 7, limit: 50 }];

export const order = fc.nat(ORDERS - 1);
export const step = fc.oneof(
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
export const discard = fc.record({ kind: fc.constant('discard' as const), order, offset: fc.nat(2) });

export type Step =
  | (typeof step extends fc.Arbitrary<infer T> ? T : never)
  | (typeof discard extends fc.Arbitrary<infer T> ? T : never);

const PRICES: Record<string, number> = { 'ESP-1': 2490, 'TEA-1': 990 };

export function commandOf(s: Step, orderId: string): OrderCommand | null {
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

export async function run(store: Store, orderIds: readonly string[], s: Step): Promise<void> {
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

export async function session(steps: readonly Step[]): Promise<Store> {
  const s = makeStore();
  const orderIds = Array.from({ length: ORDERS }, () => s.ids());
  for (const next of steps) await run(s, orderIds, next);
  return s;
}

/** What the insights show, folded again from every stored event (the analytics subscriber's old fold). */
export function insightsFromEvents(events: readonly StoredEvent[]) {
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
export async function orderTables(db: OutpostDb): Promise<Record<string, unknown[]>> {
  const names = [...Object.keys(db.streamTypes.tables), 'streams'];
  const rows = await Promise.all(names.map((name) => db.table(name).toArray()));
  return Object.fromEntries(names.map((name, index) => [name, rows[index] ?? []]));
}

/** The orders list as a full scan of `orders` finds it: filtered, then in the list's order. */
export function scanned(all: readonly OrderSummary[], status: OrderStatus | undefined, search: string) {
  const key = search.trim().toLowerCase();
  return all
    .filter((row) => (status === undefined || row.status === status) && row.customerKey.startsWith(key))
    .sort((a, b) =>
      key ? a.customerKey.localeCompare(b.customerKey) || (a.id < b.id ? -1 : 1) : a.id < b.id ? 1 : -1,
    );
}
