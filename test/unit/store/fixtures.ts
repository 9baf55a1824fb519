import type { OrderCommand } from '../../../src/domain/order/commands';
import { ManualClock, uuidv7Generator } from '../../../src/platform/ids';
import { type CommandHandlerDeps, createCommandHandler } from '../../../src/store/command-handler';
import { type OutpostDb, openDb, type StoredEvent } from '../../../src/store/db';
import { EventBus } from '../../../src/store/event-bus';

/** A fresh database per test (fake-indexeddb), a hand-moved clock and a handler writing into it. */
export function makeStore(
  options: Partial<Pick<CommandHandlerDeps, 'faults' | 'maxConcurrencyRetries'>> = {},
) {
  const name = `outpost-test-${crypto.randomUUID()}`;
  const db = openDb({ name });
  const clock = new ManualClock();
  const ids = uuidv7Generator(clock);
  const bus = new EventBus();
  const clientId = ids();
  const published: StoredEvent[] = [];
  bus.events$.subscribe((event) => published.push(event));
  const handler = createCommandHandler({ db, clock, ids, clientId, bus, ...options });
  return { name, db, clock, ids, bus, clientId, published, handler };
}

export type Store = ReturnType<typeof makeStore>;

export const TABLES = [
  'events',
  'outbox',
  'streams',
  'commands',
  'orderSummaries',
  'orderDetails',
  'meta',
] as const;

export async function tableCounts(db: OutpostDb): Promise<Record<(typeof TABLES)[number], number>> {
  const counts = await Promise.all(TABLES.map((table) => db.table(table).count()));
  return Object.fromEntries(TABLES.map((table, index) => [table, counts[index] ?? 0])) as Record<
    (typeof TABLES)[number],
    number
  >;
}

/** Every row of every table, for "nothing changed" assertions. */
export async function dump(db: OutpostDb): Promise<Record<string, unknown[]>> {
  const rows = await Promise.all(TABLES.map((table) => db.table(table).toArray()));
  return Object.fromEntries(TABLES.map((table, index) => [table, rows[index] ?? []]));
}

export const create = (orderId: string, customerName = 'Ada Lovelace', currency = 'EUR'): OrderCommand =>
  ({ type: 'CreateOrder', orderId, customerName, currency }) as OrderCommand;

export const add = (orderId: string, sku: string, quantity: number, unitPrice = 250): OrderCommand => ({
  type: 'AddProduct',
  orderId,
  sku,
  name: `Product ${sku}`,
  quantity,
  unitPrice,
});

export async function must<T>(
  promise: Promise<{ ok: true; value: T } | { ok: false; error: Error }>,
): Promise<T> {
  const result = await promise;
  if (!result.ok) throw result.error;
  return result.value;
}
