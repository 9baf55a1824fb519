import { afterEach, describe, expect, it } from 'vitest';
import { readOrderSummaries } from '../../../src/orders/page/order-summaries';
import { streamIdOf } from '../../../src/orders/stream-ids';
import { StreamDiscardedError } from '../../../src/outbox/device/commands/errors';
import { projectEvents } from '../../../src/outbox/device/read-models/projections';
import { syncTables } from '../../../src/outbox/device/sync/outbox-store';
import type { StoredEvent } from '../../../src/outbox/storage/rows';
import { orderSummary } from '../../support/order-rows';
import {
  add,
  applyServerEvents,
  create,
  deliverOutbox,
  discardFrom,
  dump,
  leaseOutbox,
  makeStore,
  must,
  type Store,
  serverEvent,
  updateOutbox,
} from './fixtures';

let store: Store;
afterEach(() => store?.db.close());

async function placedOrder(s: Store) {
  const orderId = s.ids();
  await must(s.handler.execute({ command: create(orderId) }));
  await must(s.handler.execute({ command: add(orderId, 'ESP-1', 2, 250) }));
  await must(s.handler.execute({ command: { type: 'PlaceOrder', orderId } }));
  const eventIds = (await s.db.outbox.where('streamId').equals(streamIdOf(orderId)).toArray()).map(
    (r) => r.eventId,
  );
  return { orderId, streamId: streamIdOf(orderId), eventIds };
}

describe('server events', () => {
  it('a confirmation gives the order its number and status, and never enters the outbox', async () => {
    store = makeStore();
    const { orderId, streamId, eventIds } = await placedOrder(store);
    await deliverOutbox(store.db, eventIds);
    const confirmation = serverEvent(
      streamId,
      '2026-11-26T12:05:00.000Z',
      { type: 'OrderConfirmed', orderNumber: 'SO-000042' },
      store.ids(),
    );
    await applyServerEvents(store.db, [confirmation]);

    expect(await orderSummary(store.db, orderId)).toMatchObject({
      status: 'confirmed',
      orderNumber: 'SO-000042',
      syncState: 'delivered',
      updatedAt: '2026-11-26T12:05:00.000Z',
    });
    // The three client rows were delivered (deleted); the server's decision never gets a row.
    expect(await store.db.outbox.count()).toBe(0);
    expect(await store.db.outbox.get(confirmation.eventId)).toBeUndefined();
    const events = await store.db.events.where('streamId').equals(streamId).sortBy('position');
    expect(events.at(-1)).toMatchObject({
      kind: 'server',
      type: 'OrderConfirmed',
      serverSeq: confirmation.serverSeq,
      data: { orderNumber: 'SO-000042' },
    });
    expect((await store.db.streams.get(streamId))?.state).toMatchObject({ status: 'confirmed' });
  });

  it('a rejection shows its code and reason', async () => {
    store = makeStore();
    const { orderId, streamId } = await placedOrder(store);
    await applyServerEvents(store.db, [
      serverEvent(
        streamId,
        '2026-11-26T12:05:00.000Z',
        { type: 'OrderRejected', code: 'credit_limit', reason: 'Over the limit' },
        store.ids(),
      ),
    ]);
    expect(await orderSummary(store.db, orderId)).toMatchObject({
      status: 'rejected',
      rejection: { code: 'credit_limit', reason: 'Over the limit' },
    });
  });

  it('a confirmation arriving after a local cancellation leaves the order cancelled', async () => {
    store = makeStore();
    const { orderId, streamId } = await placedOrder(store);
    await must(store.handler.execute({ command: { type: 'CancelOrder', orderId, reason: 'Changed mind' } }));
    await applyServerEvents(store.db, [
      serverEvent(
        streamId,
        '2026-11-26T12:05:00.000Z',
        { type: 'OrderConfirmed', orderNumber: 'SO-000043' },
        store.ids(),
      ),
    ]);
    expect(await orderSummary(store.db, orderId)).toMatchObject({
      status: 'cancelled',
      orderNumber: 'SO-000043',
      cancellationReason: 'Changed mind',
    });
  });

  it('projecting the same event twice changes nothing', async () => {
    store = makeStore();
    const { streamId } = await placedOrder(store);
    const confirmation = serverEvent(
      streamId,
      '2026-11-26T12:05:00.000Z',
      { type: 'OrderConfirmed', orderNumber: 'SO-000044' },
      store.ids(),
    );
    await applyServerEvents(store.db, [confirmation]);
    const once = await dump(store.db);
    // The projection itself skips what it already folded, even if a caller hands it the event again.
    const stored = await store.db.events.where('eventId').equals(confirmation.eventId).first();
    await store.db.transact('rw', syncTables(store.db.streamTypes), async (records) => {
      await projectEvents(records, store.db.streamTypes, [stored as StoredEvent]);
    });
    expect(await dump(store.db)).toEqual(once);
  });
});

describe('sync state', () => {
  it('follows the outbox: local, sending (a live lease, not stored), retrying until a time, attention with the reason, delivered', async () => {
    store = makeStore();
    const { orderId, eventIds } = await placedOrder(store);
    const summary = () => orderSummary(store.db, orderId);
    const [created, added, placed] = eventIds as [string, string, string];
    expect(await summary()).toMatchObject({ syncState: 'local', blockedReason: null });

    await leaseOutbox(store.db, [created], { batchId: 'batch-1' });
    // In flight is not stored: the claim leaves the summary alone and views overlay the lease.
    expect((await summary())?.syncState).toBe('local');
    const listed = (await readOrderSummaries(store.db, {}, store.clock.now())).rows.find(
      (row) => row.id === orderId,
    );
    expect(listed?.delivery.state).toBe('sending');

    await deliverOutbox(store.db, [created]);
    await updateOutbox(store.db, [added], {
      status: 'pending',
      attempts: 2,
      lastError: 'HTTP 503',
      nextAttemptAt: 1_234_567,
    });
    expect(await summary()).toMatchObject({ syncState: 'retrying', retryAt: 1_234_567 });

    await updateOutbox(store.db, [added], {
      status: 'dead',
      deadCode: 'rejected:invalid',
      lastError: 'ESP-1 is not sold any more',
    });
    const attention = await summary();
    expect(attention?.syncState).toBe('attention');
    expect(attention?.blockedReason).toMatch(/ProductAdded \(version 2\).*ESP-1 is not sold any more/);
    expect(attention?.blockedReason).toMatch(/Later changes wait behind it/);

    await deliverOutbox(store.db, [added, placed]);
    expect(await summary()).toMatchObject({ syncState: 'delivered', blockedReason: null });
  });
});

describe('a discarded delivery', () => {
  it('folds only the versions before it, says why, and stops the order taking commands', async () => {
    store = makeStore();
    const { orderId, streamId, eventIds } = await placedOrder(store);
    const [created, added] = eventIds as [string, string, string];
    await deliverOutbox(store.db, [created]);
    await updateOutbox(store.db, [added], { status: 'dead', lastError: 'refused' });

    await discardFrom(store.db, streamId, 2, 'Wrong product', '2026-11-26T12:10:00.000Z', store.ids);

    expect(await store.db.streams.get(streamId)).toMatchObject({ discardedFromVersion: 2, version: 3 });
    const summary = await orderSummary(store.db, orderId);
    expect(summary).toMatchObject({ status: 'draft', lineCount: 0, total: 0, syncState: 'delivered' });
    expect(summary?.blockedReason).toMatch(/from version 2 on were discarded.*Wrong product/);
    const discards = await store.db.events
      .where('streamId')
      .equals(streamId)
      .filter((e) => e.type === 'DeliveryDiscarded');
    expect(await discards.count()).toBe(2);
    // The delivered row is gone, the discarded ones too: nothing of this order is left to send.
    expect(await store.db.outbox.count()).toBe(0);

    const result = await store.handler.execute({ command: add(orderId, 'TEA-1', 1) });
    expect(!result.ok && result.error).toBeInstanceOf(StreamDiscardedError);
  });

  it('a later discard from a higher version keeps the lowest one', async () => {
    store = makeStore();
    const { streamId } = await placedOrder(store);
    await discardFrom(store.db, streamId, 3, 'Not yet', '2026-11-26T12:10:00.000Z', store.ids);
    await discardFrom(store.db, streamId, 2, 'Wrong product', '2026-11-26T12:11:00.000Z', store.ids);
    expect((await store.db.streams.get(streamId))?.discardedFromVersion).toBe(2);
  });
});
