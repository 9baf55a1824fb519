import { HttpResponse, http } from 'msw';
import { describe, expect, it } from 'vitest';
import { streamIdOf } from '../../../src/orders/stream-ids';
import {
  discardDeadLetter,
  listDeadLetters,
  retryDeadLetter,
} from '../../../src/outbox/device/sync/dead-letters';
import { NO_FAULTS } from '../../../src/outbox/mock/faults';
import { orderSummary } from '../../support/order-rows';
import { BASE_URL, type ClientSide, expectServerStream, setupSyncTestServer } from './harness';

const { server, setup } = setupSyncTestServer({ seed: 11 });

const rejectNextPush = () =>
  server.use(
    http.post(
      `${BASE_URL}/push`,
      () => HttpResponse.json({ error: { code: 'invalid_envelope', message: 'bad batch' } }, { status: 400 }),
      { once: true },
    ),
  );

const tableCounts = async (client: ClientSide) => ({
  events: await client.db.events.count(),
  outbox: await client.db.outbox.count(),
  dead: (await listDeadLetters(client.db)).length,
});

describe('retryDeadLetter', () => {
  it('sends the same eventId again and delivers it once the server stops failing', async () => {
    const { client, backend } = setup();
    const orderId = await client.draftOrder(['SKU-1']);
    backend.faults.set({ failureRate: 1, failureKinds: ['500'] });
    const engine = client.engine({ policy: { maxAttempts: 1 } });
    await engine.flush();
    const dead = await listDeadLetters(client.db);
    expect(dead.map((letter) => [letter.version, letter.deadCode])).toEqual([
      [1, 'max_attempts'],
      [2, 'max_attempts'],
    ]);
    expect((await orderSummary(client.db, orderId))?.syncState).toBe('attention');

    backend.faults.set(NO_FAULTS);
    const retried = await retryDeadLetter(client.db, dead[0]?.eventId ?? '');
    expect(retried).toEqual({ ok: true, value: dead.map((letter) => letter.eventId) });
    const rows = await client.outbox();
    expect(rows.map((row) => [row.eventId, row.status, row.attempts, row.nextAttemptAt])).toEqual(
      dead.map((letter) => [letter.eventId, 'pending', 0, 0]),
    );
    expect((await orderSummary(client.db, orderId))?.syncState).toBe('local');

    expect(await engine.flush()).toMatchObject({ delivered: 2 });
    await expectServerStream(
      backend.storage,
      orderId,
      dead.map((letter) => letter.eventId),
    );
    expect(await listDeadLetters(client.db)).toEqual([]);
  });

  it('refuses an entry that is not dead and changes nothing', async () => {
    const { client } = setup();
    await client.draftOrder(['SKU-1']);
    const [row] = await client.outbox();
    const result = await retryDeadLetter(client.db, row?.eventId ?? '');
    expect(result.ok).toBe(false);
    expect(!result.ok && result.error.code).toBe('dead_letter_not_found');
    expect((await client.outbox())[0]).toEqual(row);
  });
});

describe('discardDeadLetter', () => {
  it('discards the dead entry and every later one of its stream, with a record per event the order shows', async () => {
    const { client, clock, backend } = setup();
    const orderId = await client.draftOrder(['SKU-1']);
    const other = await client.draftOrder(['SKU-7']);
    const engine = client.engine();
    expect(await engine.flush()).toMatchObject({ delivered: 4 });
    await client.run({ type: 'AddProduct', orderId, sku: 'SKU-2', name: 'Two', quantity: 1, unitPrice: 100 });
    await client.run({
      type: 'AddProduct',
      orderId,
      sku: 'SKU-3',
      name: 'Three',
      quantity: 1,
      unitPrice: 100,
    });
    rejectNextPush();
    expect(await engine.flush()).toMatchObject({ dead: 2 });
    await client.run({
      type: 'AddProduct',
      orderId: other,
      sku: 'SKU-8',
      name: 'Eight',
      quantity: 1,
      unitPrice: 5,
    });
    const [firstDead] = await listDeadLetters(client.db);
    expect(firstDead?.version).toBe(3);
    const published: string[] = [];
    client.bus.events$.subscribe((event) => published.push(event.type));

    const result = await discardDeadLetter(client.db, {
      eventId: firstDead?.eventId ?? '',
      reason: 'Entered twice by mistake',
      clock,
      ids: client.ids,
      bus: client.bus,
    });

    expect(result.ok).toBe(true);
    const records = result.ok ? result.value.records : [];
    expect(records.map((record) => [record.type, record.data.version, record.data.eventType])).toEqual([
      ['DeliveryDiscarded', 3, 'ProductAdded'],
      ['DeliveryDiscarded', 4, 'ProductAdded'],
    ]);
    expect(
      records.every((record) => record.kind === 'local' && record.data.reason === 'Entered twice by mistake'),
    ).toBe(true);
    expect(published).toEqual(['DeliveryDiscarded', 'DeliveryDiscarded']);
    // Their outbox rows are gone; the events stay in the store as history.
    // (versions 1 and 2 were delivered, so theirs went before).
    expect((await client.outbox()).filter((row) => row.streamId === streamIdOf(orderId))).toEqual([]);
    expect(await client.deliveries(orderId)).toEqual(['delivered', 'delivered', 'discarded', 'discarded']);
    expect(await client.db.events.where('streamId').equals(streamIdOf(orderId)).count()).toBe(6);
    expect((await client.db.streams.get(streamIdOf(orderId)))?.discardedFromVersion).toBe(3);
    const summary = await orderSummary(client.db, orderId);
    expect(summary?.lineCount).toBe(1);
    expect(summary?.blockedReason).toMatch(/discarded/);
    const discardRecords = client.db.events.where('streamId').equals(streamIdOf(orderId));
    expect(await discardRecords.filter((event) => event.type === 'DeliveryDiscarded').count()).toBe(2);

    // The order takes no more commands; the other order and the server are unaffected.
    const refused = await client.execute({ type: 'PlaceOrder', orderId });
    expect(!refused.ok && refused.error.code).toBe('stream_discarded');
    expect(await engine.flush()).toMatchObject({ delivered: 1, dead: 0 });
    expect(
      await backend.storage.read(
        async (reader) =>
          (await reader.streams([streamIdOf(orderId)])).get(streamIdOf(orderId))?.events.at(-1)?.version,
      ),
    ).toBe(2);
    expect(await listDeadLetters(client.db)).toEqual([]);
  });

  it('refuses a bad reason or an entry that is not dead, writing nothing', async () => {
    const { client, clock } = setup();
    await client.draftOrder(['SKU-1']);
    rejectNextPush();
    await client.engine().flush();
    const [dead] = await listDeadLetters(client.db);
    const before = await tableCounts(client);

    for (const reason of ['', '   ', 'x'.repeat(201), 42, undefined]) {
      const result = await discardDeadLetter(client.db, {
        eventId: dead?.eventId ?? '',
        reason,
        clock,
        ids: client.ids,
      });
      expect(!result.ok && result.error.code).toBe('validation_failed');
    }
    // A later entry of the stream still in flight (another context sending it): refuse rather than race it.
    const [, later] = await client.outbox();
    await client.db.outbox.update(later?.eventId ?? '', { status: 'pending' });
    await client.db.leases.add({
      batchId: client.ids(),
      ownerId: 'other-tab',
      until: clock.now() + 60_000,
      eventIds: [later?.eventId ?? ''],
    });
    const busy = await discardDeadLetter(client.db, {
      eventId: dead?.eventId ?? '',
      reason: 'gone',
      clock,
      ids: client.ids,
    });
    expect(!busy.ok && busy.error.code).toBe('dead_letter_in_flight');
    await client.db.leases.clear();
    await client.db.outbox.update(later?.eventId ?? '', { status: 'dead' });

    const notDead = await discardDeadLetter(client.db, {
      eventId: client.ids(),
      reason: 'gone',
      clock,
      ids: client.ids,
    });
    expect(!notDead.ok && notDead.error.code).toBe('dead_letter_not_found');
    expect(await tableCounts(client)).toEqual(before);
  });
});
