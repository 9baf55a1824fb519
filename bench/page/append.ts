import type { OrderCommand } from '../../src/orders/domain/commands';
import { liveOrder } from '../../src/orders/page/order-view';
import type { CommandPipeline } from '../../src/outbox/device/commands/command-pipeline';
import { systemClock } from '../../src/outbox/ids';
import type { OutpostDb } from '../../src/outbox/page/database';
import { createPageCommandPipeline } from '../../src/outbox/page/page-commands';
import { type Durability, openIndexedDb, writeWithDexie, writeWithIndexedDb } from './baselines';
import { addProduct, RowFactory } from './fixtures';
import { dbName, freshDb, productDeps, rememberIdb, seedProduct, seedRows } from './setups';

/**
 * Appends one command at a time (or a burst, for group commit) to orders that already hold events.
 * Variants: `outpost` (the command pipeline, each command awaited before the next), `group` (the same
 * pipeline, all commands issued at once so they share transactions), `dexie` and `idb` (the same rows
 * written raw through Dexie and through IndexedDB).
 */
export type AppendVariant = 'outpost' | 'group' | 'dexie' | 'idb';

export interface AppendSetup {
  readonly key: string;
  readonly variant: AppendVariant;
  readonly durability: Durability;
  readonly orders: number;
  readonly eventsPerOrder: number;
  /** Pending outbox rows of other orders, written before the rounds (the backlog figure). */
  readonly backlog?: number;
}

interface AppendState {
  readonly setup: AppendSetup;
  readonly db: OutpostDb;
  readonly orderIds: readonly string[];
  readonly nextLine: Map<string, number>;
  readonly factory: RowFactory;
  readonly handler: CommandPipeline;
  idb: IDBDatabase | null;
  cursor: number;
}

const states = new Map<string, AppendState>();

export async function appendSetup(setup: AppendSetup): Promise<{ events: number; outbox: number }> {
  const db = await freshDb(setup.key, setup.durability);
  const factory = new RowFactory();
  const product = setup.variant === 'outpost' || setup.variant === 'group';
  const orderIds = product
    ? await seedProduct(db, setup.orders, setup.eventsPerOrder)
    : await seedRows(db, factory, setup.orders, setup.eventsPerOrder);
  if (setup.backlog) await seedRows(db, new RowFactory(), Math.ceil(setup.backlog / 20), 20);
  const state: AppendState = {
    setup,
    db,
    orderIds,
    nextLine: new Map(orderIds.map((orderId) => [orderId, setup.eventsPerOrder])),
    factory,
    handler: createPageCommandPipeline(productDeps(db)),
    idb: null,
    cursor: 0,
  };
  if (setup.variant === 'idb') {
    state.idb = await openIndexedDb(dbName(setup.key));
    rememberIdb(setup.key, state.idb);
  }
  states.set(setup.key, state);
  return { events: await db.events.count(), outbox: await db.outbox.count() };
}

function stateOf(key: string): AppendState {
  const state = states.get(key);
  if (!state) throw new Error(`appendSetup(${key}) was not run`);
  return state;
}

/** The next `count` orders to touch, round-robin, so every order grows evenly. */
function nextOrders(state: AppendState, count: number): string[] {
  const picked: string[] = [];
  for (let i = 0; i < count; i += 1) {
    const orderId = state.orderIds[state.cursor % state.orderIds.length];
    if (orderId === undefined) throw new Error('no orders');
    picked.push(orderId);
    state.cursor += 1;
  }
  return picked;
}

function nextCommands(state: AppendState, count: number): OrderCommand[] {
  return nextOrders(state, count).map((orderId) => {
    const line = state.nextLine.get(orderId) ?? 1;
    state.nextLine.set(orderId, line + 1);
    return addProduct(orderId, line);
  });
}

export interface Timed {
  readonly count: number;
  readonly ms: number;
}

export async function appendRound({ key, commands }: { key: string; commands: number }): Promise<Timed> {
  const state = stateOf(key);
  const { variant, durability } = state.setup;
  // Everything a baseline would not do is prepared before the clock starts.
  if (variant === 'dexie' || variant === 'idb') {
    const rows = nextOrders(state, commands).map((orderId) => state.factory.next(orderId));
    const idb = state.idb;
    const start = performance.now();
    for (const row of rows) {
      if (idb) await writeWithIndexedDb(idb, [row], durability);
      else await writeWithDexie(state.db, [row]);
    }
    return { count: rows.length, ms: performance.now() - start };
  }
  const requests = nextCommands(state, commands).map((command) => ({ command }));
  const start = performance.now();
  if (variant === 'group') {
    const results = await Promise.all(requests.map((request) => state.handler.execute(request)));
    const failed = results.find((result) => !result.ok);
    if (failed && !failed.ok) throw failed.error;
  } else {
    for (const request of requests) {
      const result = await state.handler.execute(request);
      if (!result.ok) throw result.error;
    }
  }
  return { count: requests.length, ms: performance.now() - start };
}

/**
 * Latency from issuing a command to the order's live detail query (what the open order screen renders)
 * showing it, one sample at a time; the baseline is the duration of one raw Dexie transaction writing the
 * same rows. Samples alternate product / baseline.
 */
export async function latencyRound({
  key,
  baselineKey,
  samples,
}: {
  key: string;
  baselineKey: string;
  samples: number;
}): Promise<{ product: number[]; raw: number[] }> {
  const state = stateOf(key);
  const baseline = stateOf(baselineKey);
  const product: number[] = [];
  const raw: number[] = [];
  for (let i = 0; i < samples; i += 1) {
    const [command] = nextCommands(state, 1);
    if (!command) throw new Error('no command');
    product.push(await commandToView(state, command));
    const [orderId] = nextOrders(baseline, 1);
    if (!orderId) throw new Error('no order');
    const rows = baseline.factory.next(orderId);
    const start = performance.now();
    await writeWithDexie(baseline.db, [rows]);
    raw.push(performance.now() - start);
  }
  return { product, raw };
}

async function commandToView(state: AppendState, command: OrderCommand): Promise<number> {
  // nextLine was bumped when the command was made: once stored, the order's version equals it.
  const target = state.nextLine.get(command.orderId) ?? 0;
  let ready: () => void = () => {};
  let shown: (at: number) => void = () => {};
  const subscribed = new Promise<void>((resolve) => {
    ready = resolve;
  });
  const visible = new Promise<number>((resolve) => {
    shown = resolve;
  });
  let first = true;
  const subscription = liveOrder(state.db, command.orderId, systemClock).subscribe((view) => {
    if (first) {
      first = false;
      ready();
      return;
    }
    if (view && view.summary.version >= target) shown(performance.now());
  });
  await subscribed;
  const start = performance.now();
  const result = await state.handler.execute({ command });
  if (!result.ok) throw result.error;
  const at = await visible;
  subscription.unsubscribe();
  return at - start;
}
