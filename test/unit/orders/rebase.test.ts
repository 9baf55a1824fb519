import { describe, expect, it } from 'vitest';
import type { OrderLines, OrderSummary } from '../../../src/orders/read-models';
import { streamIdOf } from '../../../src/orders/stream-ids';
import { rebuildReadModels } from '../../../src/outbox/device/read-models/rebuild';
import type { SyncEngine, SyncEngineDeps } from '../../../src/outbox/device/sync/engine';
import { syncStorage } from '../../../src/outbox/device/sync/sync-storage';
import type { StoredRefusalRecord } from '../../../src/outbox/storage/rows';
import { crashOnceOnFeedPage } from '../../core/support/crash-once';
import { type ClientSide, setupSyncTestServer } from '../sync/harness';

/**
 * Deciding again, for orders: two devices of one shop change the same order while one of them is offline.
 * The one that comes back second decides its commands again on the order as the server holds it: a line
 * added to a draft still goes (at the next version, under a new eventId); a line added to an order placed
 * or cancelled elsewhere is refused, with what happened and where, and its effect taken back; of several
 * commands, each is judged on its own; a device that dies between the conflict and the rebase loses nothing
 * and doubles nothing.
 */

const { setup, addClient } = setupSyncTestServer({ seed: 2201 });

const withFeed = (client: ClientSide, overrides: Partial<SyncEngineDeps> = {}): SyncEngine =>
  client.engine({ feed: true, userAgent: 'Test', ...overrides });

async function settle(client: ClientSide, engine = withFeed(client)): Promise<void> {
  for (let round = 0; round < 50; round += 1) {
    const report = await engine.flush();
    if ((report.outcome === 'idle' || report.outcome === 'drained') && (await client.outbox()).length === 0) {
      await engine.pull();
      return;
    }
    const next = report.nextAttemptAt ?? client.clock.now() + 1_000;
    client.clock.advance(Math.max(1, next - client.clock.now()));
  }
  throw new Error('not settled');
}

const summaryOf = (client: ClientSide, orderId: string) =>
  client.db.table<OrderSummary>('orders').get(orderId);
const linesOf = async (client: ClientSide, orderId: string) =>
  (await client.db.table<OrderLines>('orderLines').get(orderId))?.lines.map((line) => [
    line.sku,
    line.quantity,
  ]);
const refusals = async (client: ClientSide) =>
  (await client.db.events.toArray()).filter(
    (event): event is StoredRefusalRecord => event.kind === 'local' && event.type === 'CommandRefused',
  );

async function storedTypes(backend: ReturnType<typeof setup>['backend'], orderId: string) {
  const streamId = streamIdOf(orderId);
  const stream = await backend.storage.read(async (reader) =>
    (await reader.streams([streamId])).get(streamId),
  );
  return (stream?.events ?? []).map((event) => [event.version, event.type]);
}

/** Two devices of the shop, and a draft order both have: created on `a` with one line, known to `b`. */
async function sharedDraft() {
  const { clock, client: a, backend } = setup();
  const b = addClient({ clock, seed: 2202 });
  const orderId = await a.draftOrder(['COF-1']);
  await settle(a);
  await withFeed(b).pull();
  expect(await linesOf(b, orderId)).toEqual([['COF-1', 1]]);
  return { clock, a, b, backend, orderId };
}

const addProduct = (orderId: string, sku: string, quantity = 1, unitPrice = 250) => ({
  type: 'AddProduct',
  orderId,
  sku,
  name: `Product ${sku}`,
  quantity,
  unitPrice,
});

/** The device's read models equal what a rebuild makes from its events. */
async function expectRebuildAgrees(client: ClientSide) {
  const read = async () => ({
    orders: await client.db.table('orders').toArray(),
    lines: await client.db.table('orderLines').toArray(),
    counts: await client.db.table('orderCounts').toArray(),
    days: await client.db.table('orderDays').toArray(),
    revenue: await client.db.table('orderRevenue').toArray(),
    deliveries: await client.db.deliveries.toArray(),
  });
  const before = await read();
  await rebuildReadModels(client.db);
  expect(await read()).toEqual(before);
}

describe('an order changed on two devices', () => {
  it('still holds: a line added on a draft another device also changed goes at the next version', async () => {
    const { a, b, backend, orderId } = await sharedDraft();
    await a.run(addProduct(orderId, 'TEA-2'));
    await b.run(addProduct(orderId, 'MLK-3', 2));
    await settle(b);

    await settle(a);

    expect(await storedTypes(backend, orderId)).toEqual([
      [1, 'OrderCreated'],
      [2, 'ProductAdded'],
      [3, 'ProductAdded'],
      [4, 'ProductAdded'],
    ]);
    expect(await linesOf(a, orderId)).toEqual([
      ['COF-1', 1],
      ['MLK-3', 2],
      ['TEA-2', 1],
    ]);
    await withFeed(b).pull();
    expect(await summaryOf(b, orderId)).toEqual(await summaryOf(a, orderId));
    expect(await refusals(a)).toEqual([]);
    await expectRebuildAgrees(a);
    await expectRebuildAgrees(b);
  });

  it('no longer holds: a line added to an order placed on another device is refused, with what happened and where', async () => {
    const { clock, a, b, backend, orderId } = await sharedDraft();
    await a.run(addProduct(orderId, 'TEA-2', 3));
    expect((await summaryOf(a, orderId))?.total).toBe(250 + 750);
    clock.advance(90_000);
    await b.run({ type: 'PlaceOrder', orderId });
    await settle(b);

    await settle(a);

    expect(await storedTypes(backend, orderId)).toEqual([
      [1, 'OrderCreated'],
      [2, 'ProductAdded'],
      [3, 'OrderPlaced'],
    ]);
    expect(await summaryOf(a, orderId)).toMatchObject({ status: 'confirmed', total: 250, lineCount: 1 });
    const [refusal] = await refusals(a);
    expect(refusal?.data).toMatchObject({
      command: addProduct(orderId, 'TEA-2', 3),
      events: [{ type: 'ProductAdded', version: 3 }],
      code: 'order_not_editable',
      cause: {
        kind: 'client',
        type: 'OrderPlaced',
        clientId: b.clientId,
        occurredAt: new Date(clock.now()).toISOString(),
      },
    });
    expect(await a.outbox()).toEqual([]);
    await expectRebuildAgrees(a);
  });

  it('holds partially: of two commands, the one the other device made impossible is refused, the other goes', async () => {
    const { a, b, backend, orderId } = await sharedDraft();
    await a.run({ type: 'ChangeQuantity', orderId, sku: 'COF-1', quantity: 4 });
    await a.run(addProduct(orderId, 'TEA-2'));
    await b.run({ type: 'RemoveProduct', orderId, sku: 'COF-1' });
    await settle(b);

    await settle(a);

    expect(await storedTypes(backend, orderId)).toEqual([
      [1, 'OrderCreated'],
      [2, 'ProductAdded'],
      [3, 'ProductRemoved'],
      [4, 'ProductAdded'],
    ]);
    expect(await linesOf(a, orderId)).toEqual([['TEA-2', 1]]);
    expect((await refusals(a)).map((refusal) => [refusal.data.code, refusal.data.cause?.type])).toEqual([
      ['product_not_on_order', 'ProductRemoved'],
    ]);
    await expectRebuildAgrees(a);
  });

  it('refuses the rest of a command whose first half reached the server before the other device’s change', async () => {
    const { a, b, backend, orderId } = await sharedDraft();
    // A quantity change is two events; batches of one, and the network gone after the first.
    await a.run({ type: 'ChangeQuantity', orderId, sku: 'COF-1', quantity: 5 });
    let pushes = 0;
    const cutAfterOne: typeof fetch = (input, init) => {
      const url = new Request(input, init).url;
      if (url.endsWith('/push') && ++pushes > 1) return Promise.reject(new TypeError('Failed to fetch'));
      return fetch(input, init);
    };
    const first = await withFeed(a, { policy: { batchSize: 1 }, transport: cutAfterOne }).flush();
    expect(first.delivered).toBe(1);
    // b reads it, adds a line, and is first with version 4.
    await withFeed(b).pull();
    await b.run(addProduct(orderId, 'MLK-3'));
    await settle(b);

    await settle(a);

    expect(await storedTypes(backend, orderId)).toEqual([
      [1, 'OrderCreated'],
      [2, 'ProductAdded'],
      [3, 'ProductRemoved'],
      [4, 'ProductAdded'],
    ]);
    expect((await refusals(a)).map((refusal) => refusal.data.code)).toEqual(['partly_delivered']);
    expect(await linesOf(a, orderId)).toEqual([['MLK-3', 1]]);
    await expectRebuildAgrees(a);
  });

  it('loses nothing and doubles nothing when the device dies between the conflict and the rebase', async () => {
    const { a, b, backend, orderId } = await sharedDraft();
    await a.run(addProduct(orderId, 'TEA-2'));
    await a.run({ type: 'PlaceOrder', orderId });
    await b.run(addProduct(orderId, 'MLK-3'));
    await settle(b);

    const crashing = crashOnceOnFeedPage(a.db);
    await withFeed(a, { storage: syncStorage(crashing.database) }).flush();
    expect(crashing.crashed()).toBe(true);
    expect((await a.outbox()).map((row) => [row.version, row.type])).toEqual([
      [3, 'ProductAdded'],
      [4, 'OrderPlaced'],
    ]);

    await settle(a);

    expect(await storedTypes(backend, orderId)).toEqual([
      [1, 'OrderCreated'],
      [2, 'ProductAdded'],
      [3, 'ProductAdded'],
      [4, 'ProductAdded'],
      [5, 'OrderPlaced'],
    ]);
    // Decided again, the placing carries the total of every line the order now has.
    const placed = await backend.storage.read(async (reader) =>
      (await reader.streams([streamIdOf(orderId)])).get(streamIdOf(orderId))?.events.at(-1),
    );
    expect(placed?.data).toEqual({ total: 750, lineCount: 3 });
    expect(await summaryOf(a, orderId)).toMatchObject({ status: 'confirmed', total: 750 });
    await expectRebuildAgrees(a);
  });
});
