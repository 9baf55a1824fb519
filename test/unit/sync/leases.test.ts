import { firstValueFrom } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { readOrderSummaries } from '../../../src/orders/page/order-summaries';
import { liveOrder } from '../../../src/orders/page/order-view';
import { type ClaimOptions, claimBatch } from '../../../src/outbox/device/sync/outbox-store';
import { defaultRetryPolicy } from '../../../src/outbox/device/sync/retry-policy';
import { readSyncFacts } from '../../../src/outbox/device/sync/sync-facts';
import { deriveSyncStatus } from '../../../src/outbox/page/status';
import { orderSummary } from '../../support/order-rows';
import { type ClientSide, expectServerStream, setupSyncTestServer } from './harness';

/**
 * In flight is a lease record per claimed batch, not a rewrite of every row; delivered is a deleted row.
 * These check what a person and the engine rely on from that: rows in flight read as in flight everywhere,
 * a lease that outlives its flusher gives the rows back without touching them, and a delivery leaves nothing
 * behind but the order reading delivered.
 */
const { setup } = setupSyncTestServer({ seed: 7 });

const claimOptions = (client: ClientSide, overrides: Partial<ClaimOptions> = {}): ClaimOptions => ({
  ownerId: 'tab-a',
  batchId: client.ids(),
  now: client.clock.now(),
  policy: defaultRetryPolicy,
  limit: 100,
  byteBudget: 1_000_000,
  exclude: new Set(),
  ignoreBackoff: false,
  ...overrides,
});

/** The status bar's counts as derived now, online. */
async function statusNow(client: ClientSide) {
  return deriveSyncStatus(await readSyncFacts(client.db), true, client.clock.now());
}

/** The order's sync state as the orders list shows it (stored state with the leases over it). */
async function viewedSyncState(client: ClientSide, orderId: string): Promise<string | undefined> {
  const { rows } = await readOrderSummaries(client.db, {}, client.clock.now());
  return rows.find((summary) => summary.id === orderId)?.delivery.state;
}

async function placedOrder(client: ClientSide): Promise<string> {
  const orderId = await client.draftOrder(['SKU-1', 'SKU-2']);
  await client.run({ type: 'PlaceOrder', orderId });
  return orderId;
}

describe('lease records', () => {
  it('a claim writes one lease record naming the batch and leaves every row as the command wrote it', async () => {
    const { client } = setup();
    const orderId = await placedOrder(client);
    const before = await client.outbox();

    const claim = await claimBatch(client.db, claimOptions(client, { batchId: 'batch-1' }));

    expect(claim.entries).toHaveLength(4);
    expect(await client.outbox()).toEqual(before);
    expect(await client.db.leases.toArray()).toEqual([
      {
        batchId: 'batch-1',
        ownerId: 'tab-a',
        until: client.clock.now() + defaultRetryPolicy.leaseMs,
        eventIds: before.map((row) => row.eventId),
        streamIds: [before[0]?.streamId],
      },
    ]);
    // Every view derives in flight from the record; the stored summary is not rewritten by the claim.
    expect(await client.deliveries()).toEqual(['inflight', 'inflight', 'inflight', 'inflight']);
    expect(await viewedSyncState(client, orderId)).toBe('sending');
    expect((await orderSummary(client.db, orderId))?.syncState).toBe('local');
    expect(await statusNow(client)).toMatchObject({ pending: 0, inflight: 4, dead: 0 });
    // Nobody else may take a row while the lease is live.
    const other = await claimBatch(client.db, claimOptions(client, { ownerId: 'tab-b' }));
    expect(other.entries).toEqual([]);
  });

  it('an expired lease returns its rows to the pool without rewriting them', async () => {
    const { client } = setup();
    const orderId = await placedOrder(client);
    const before = await client.outbox();
    await claimBatch(client.db, claimOptions(client, { batchId: 'batch-of-a-dead-tab' }));
    expect(await viewedSyncState(client, orderId)).toBe('sending');

    client.clock.advance(defaultRetryPolicy.leaseMs);
    // A claim that may not take these rows (this flush sent them already) still clears the dead lease.
    const claim = await claimBatch(
      client.db,
      claimOptions(client, { ownerId: 'tab-b', exclude: new Set(before.map((row) => row.eventId)) }),
    );

    expect(claim.entries).toEqual([]);
    expect(await client.db.leases.count()).toBe(0);
    expect(await client.outbox()).toEqual(before);
    expect(await client.deliveries()).toEqual(['pending', 'pending', 'pending', 'pending']);
    // Never answered, never counted: the order is back to saved on this device.
    expect(before.every((row) => row.attempts === 0)).toBe(true);
    expect(await viewedSyncState(client, orderId)).toBe('local');
    expect(await statusNow(client)).toMatchObject({ pending: 4, inflight: 0 });

    // The next claim takes them again, in order.
    const again = await claimBatch(client.db, claimOptions(client, { ownerId: 'tab-b' }));
    expect(again.entries.map((entry) => entry.row.eventId)).toEqual(before.map((row) => row.eventId));
  });

  it('a delivered row is gone, in the same transaction as the answer, and its order reads delivered', async () => {
    const { client, backend } = setup();
    const orderId = await placedOrder(client);
    const eventIds = (await client.outbox()).map((row) => row.eventId);
    const report = await client.engine().flush();

    expect(report).toMatchObject({ delivered: 4, outcome: 'drained' });
    expect(await client.outbox()).toEqual([]);
    expect(await client.db.leases.count()).toBe(0);
    expect(await client.deliveries(orderId)).toEqual(['delivered', 'delivered', 'delivered', 'delivered']);
    expect(await orderSummary(client.db, orderId)).toMatchObject({
      status: 'confirmed',
      syncState: 'delivered',
      blockedReason: null,
    });
    // The events themselves stay in the store, as history.
    expect(await client.db.events.where('eventId').anyOf(eventIds).count()).toBe(4);
    await expectServerStream(backend.storage, orderId, eventIds);
  });

  it('shows the order as sending while its push hangs without the claim rewriting its summary', async () => {
    const { client } = setup();
    const orderId = await placedOrder(client);
    const stored = await orderSummary(client.db, orderId);
    expect(stored?.syncState).toBe('local');
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    let sends = 0;
    const engine = client.engine({
      transport: async (input, init) => {
        sends += 1;
        await held;
        return fetch(input, init);
      },
    });
    const flushing = engine.flush();
    while (sends === 0) await new Promise((resolve) => setTimeout(resolve, 1));

    // The list and the open order both read it as sending; the row on disk is exactly as the command left it.
    expect(await viewedSyncState(client, orderId)).toBe('sending');
    expect((await firstValueFrom(liveOrder(client.db, orderId, client.clock)))?.delivery.state).toBe(
      'sending',
    );
    expect(await orderSummary(client.db, orderId)).toEqual(stored);

    release();
    expect(await flushing).toMatchObject({ delivered: 4 });
    expect(await viewedSyncState(client, orderId)).toBe('delivered');
    expect((await firstValueFrom(liveOrder(client.db, orderId, client.clock)))?.delivery.state).toBe(
      'delivered',
    );
    expect((await orderSummary(client.db, orderId))?.syncState).toBe('delivered');
  });

  it('an answer that comes back after its lease was taken over records deliveries only', async () => {
    const { client } = setup();
    await placedOrder(client);
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    let sends = 0;
    const slow = client.engine({
      ownerId: 'slow-tab',
      transport: async (input, init) => {
        sends += 1;
        const answer = await fetch(input, init);
        await held;
        return answer;
      },
    });
    const flushing = slow.flush();
    while (sends === 0 || (await client.db.leases.count()) === 0) {
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    // The slow tab's lease passes and another tab takes the rows under a lease of its own.
    client.clock.advance(defaultRetryPolicy.leaseMs + 1);
    const takeover = await claimBatch(
      client.db,
      claimOptions(client, { ownerId: 'tab-b', batchId: 'batch-b' }),
    );
    expect(takeover.entries).toHaveLength(4);

    release();
    expect(await flushing).toMatchObject({ delivered: 4 });
    // The deliveries are facts about the server, recorded whoever holds the rows; tab-b's lease is left to it.
    expect(await client.outbox()).toEqual([]);
    expect(await client.db.leases.toArray()).toMatchObject([{ batchId: 'batch-b', ownerId: 'tab-b' }]);
    expect(await client.deliveries()).toEqual(['delivered', 'delivered', 'delivered', 'delivered']);
  });
});
