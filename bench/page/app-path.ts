import { openAppDb } from '../../src/app/schema';
import { streamIdOf } from '../../src/orders/stream-ids';
import type { CommandPipeline } from '../../src/outbox/device/commands/command-pipeline';
import { rebuildReadModels } from '../../src/outbox/device/read-models/rebuild';
import { ManualClock, newId, uuidv7Generator } from '../../src/outbox/ids';
import { DB_NAME, type OutpostDb } from '../../src/outbox/page/database';
import { createPageCommandPipeline } from '../../src/outbox/page/page-commands';
import type { StoredClientEvent, StoredEvent, StoredServerEvent } from '../../src/outbox/storage/rows';
import { streamTypes } from '../../src/plugins';
import { appPathCommands } from './app-commands';
import { deleteDatabase, writeWithDexie } from './baselines';
import { clientId, RowFactory } from './fixtures';
import { freshDb, productDeps } from './setups';

/**
 * The app-path figure's setups (bench/run.mjs `app-path`). The app itself runs in bench/page/app-main.tsx;
 * these run in the bench page: seeding a history into the app's own database before the app opens on it,
 * and the bare paths the app is compared with (the command pipeline alone, and one raw Dexie transaction of
 * the same rows), in the same run.
 */

/** Orders in the seeded history, one in ten of each kind: a draft, placed and waiting, rejected; the rest confirmed. */
const CURRENCIES = ['EUR', 'USD', 'GBP', 'CHF'] as const;
const HISTORY_DAYS = 90;
const EVENT_CHUNK = 10_000;

export interface SeedResult {
  readonly orders: number;
  readonly events: number;
  /** The events' bulk write, one transaction. */
  readonly writeMs: number;
  /** The core's `rebuildReadModels`: snapshots, delivery facts and every read model, from the events. */
  readonly rebuildMs: number;
}

/**
 * A device's history of `orders` orders in the app's own database (`outpost`), all delivered: the events
 * (client and server) in one bulk write, no outbox row (a delivered row is deleted), then the core's own
 * rebuild derives everything else. Orders span the last 90 days, ids and times in creation order.
 */
export async function appSeed({ orders }: { orders: number }): Promise<SeedResult> {
  await deleteDatabase(DB_NAME);
  const db = openAppDb({ streamTypes });
  await db.open();
  try {
    const end = Date.now() - 60 * 60 * 1000;
    const clock = new ManualClock(end - HISTORY_DAYS * 24 * 60 * 60 * 1000);
    const step = orders > 0 ? Math.floor((HISTORY_DAYS * 24 * 60 * 60 * 1000) / orders) : 0;
    const ids = uuidv7Generator(clock);
    let serverSeq = 0;
    let events = 0;
    const writeStart = performance.now();
    await db.transaction('rw', db.events, async () => {
      let chunk: StoredEvent[] = [];
      for (let n = 0; n < orders; n += 1) {
        clock.advance(step);
        for (const event of orderHistory(n, clock, ids, () => ++serverSeq)) chunk.push(event);
        if (chunk.length >= EVENT_CHUNK) {
          await db.events.bulkAdd(chunk);
          events += chunk.length;
          chunk = [];
        }
      }
      if (chunk.length > 0) await db.events.bulkAdd(chunk);
      events += chunk.length;
    });
    const writeMs = performance.now() - writeStart;
    const rebuildStart = performance.now();
    await rebuildReadModels(db);
    const rebuildMs = performance.now() - rebuildStart;
    const summaries = await db.table('orders').count();
    if (summaries !== orders) throw new Error(`seeded ${summaries} of ${orders} orders`);
    return { orders, events, writeMs, rebuildMs };
  } finally {
    db.close();
  }
}

/** One order's events as the device stores them once everything was delivered and decided. */
function orderHistory(
  n: number,
  clock: ManualClock,
  ids: () => string,
  nextServerSeq: () => number,
): StoredEvent[] {
  const orderId = ids();
  const streamId = streamIdOf(orderId);
  const kind = n % 10;
  const currency = CURRENCIES[n % CURRENCIES.length] ?? 'EUR';
  const lines = [
    {
      sku: `SKU-${n % 500}`,
      name: `Product number ${n % 500}`,
      quantity: 1 + (n % 7),
      unitPrice: 250 + (n % 90),
    },
    { sku: `SKU-${(n + 1) % 500}-B`, name: 'Second product', quantity: 2, unitPrice: 1200 },
  ];
  const client = (
    version: number,
    data: Pick<StoredClientEvent, 'type' | 'data'>,
    at: number,
  ): StoredClientEvent => {
    const occurredAt = new Date(at).toISOString();
    const commandId = ids();
    return {
      ...data,
      kind: 'client',
      eventId: ids(),
      streamId,
      version,
      schemaVersion: 1,
      occurredAt,
      metadata: { commandId, correlationId: commandId, causationId: null, occurredAt, clientId },
    };
  };
  const at = clock.now();
  const events: StoredEvent[] = [
    client(1, { type: 'OrderCreated', data: { orderId, customerName: `Customer ${n}`, currency } }, at),
    ...lines.map((line, index) =>
      client(2 + index, { type: 'ProductAdded', data: line }, at + 1000 * (index + 1)),
    ),
  ];
  if (kind === 0) return events;
  const total = lines.reduce((sum, line) => sum + line.quantity * line.unitPrice, 0);
  events.push(client(4, { type: 'OrderPlaced', data: { total, lineCount: lines.length } }, at + 5000));
  if (kind === 1) return events;
  const decidedAt = new Date(at + 65_000).toISOString();
  const server = (data: Pick<StoredServerEvent, 'type' | 'data'>): StoredServerEvent => ({
    ...data,
    kind: 'server',
    eventId: ids(),
    streamId,
    serverSeq: nextServerSeq(),
    schemaVersion: 1,
    occurredAt: decidedAt,
  });
  events.push(
    kind === 2
      ? server({ type: 'OrderRejected', data: { code: 'credit_limit', reason: 'Over the credit limit' } })
      : server({
          type: 'OrderConfirmed',
          data: { orderNumber: `SO-${String(n + 1).padStart(6, '0')}`, confirmedAt: decidedAt },
        }),
  );
  return events;
}

/**
 * The bare paths, on an empty database: `pipeline` is Outpost's command pipeline alone (no page, no
 * subscriber, no screen), `dexie` one raw Dexie transaction of the same rows per command. Both take the app
 * path's commands: a new order, then a product added to it, one command at a time.
 */
export type BareVariant = 'pipeline' | 'dexie';

interface BareState {
  readonly variant: BareVariant;
  readonly db: OutpostDb;
  readonly factory: RowFactory;
  readonly pipeline: CommandPipeline;
  orders: number;
}

const bare = new Map<string, BareState>();

/**
 * `seeded`: the pipeline on this origin's own seeded database (`outpost`, what the app of this size opened)
 * instead of an empty one, so the figure can say how much of a larger history's cost is IndexedDB's own
 * (the same requests on a larger store) and how much the app's.
 */
export async function bareSetup({
  key,
  variant,
  seeded = false,
}: {
  key: string;
  variant: BareVariant;
  seeded?: boolean;
}): Promise<void> {
  let db: OutpostDb;
  if (seeded) {
    db = openAppDb({ streamTypes, durability: 'strict' });
    await db.open();
  } else {
    db = await freshDb(key, 'strict');
  }
  bare.set(key, {
    variant,
    db,
    factory: new RowFactory(),
    pipeline: createPageCommandPipeline(productDeps(db)),
    orders: 0,
  });
}

export interface CommandRound {
  readonly count: number;
  readonly ms: number;
  /** Each command's own duration, from issue to its answer (the raw write: its transaction). */
  readonly latencies: readonly number[];
}

/** `commands` commands, each awaited before the next: CreateOrder, AddProduct, CreateOrder, … */
export async function bareRound({ key, commands }: { key: string; commands: number }): Promise<CommandRound> {
  const state = bare.get(key);
  if (!state) throw new Error(`bareSetup(${key}) was not run`);
  const latencies: number[] = [];
  if (state.variant === 'dexie') {
    // Rows made before the clock starts: the baseline pays only for storing them.
    const rows = [];
    let orderId = '';
    for (let i = 0; i < commands; i += 1) {
      if (i % 2 === 0) orderId = newId();
      rows.push(state.factory.next(orderId, state.orders));
      if (i % 2 === 0) state.orders += 1;
    }
    const start = performance.now();
    for (const row of rows) {
      const at = performance.now();
      await writeWithDexie(state.db, [row]);
      latencies.push(performance.now() - at);
    }
    return { count: rows.length, ms: performance.now() - start, latencies };
  }
  const requests = appPathCommands(commands, state.orders);
  state.orders += Math.ceil(commands / 2);
  const start = performance.now();
  for (const request of requests) {
    const at = performance.now();
    const result = await state.pipeline.execute(request);
    if (!result.ok) throw result.error;
    latencies.push(performance.now() - at);
  }
  return { count: requests.length, ms: performance.now() - start, latencies };
}
