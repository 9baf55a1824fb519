import Dexie from 'dexie';
import * as v from 'valibot';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { OrderDomainError } from '../../../src/orders/domain/errors';
import { liveOrder } from '../../../src/orders/page/order-view';
import type { OrderLines } from '../../../src/orders/read-models';
import { orderIdOf, streamIdOf } from '../../../src/orders/stream-ids';
import {
  CommandIdReusedError,
  StorageError,
  StreamDiscardedError,
} from '../../../src/outbox/device/commands/errors';
import { EventBus } from '../../../src/outbox/device/event-bus';
import { rebuildReadModels } from '../../../src/outbox/device/read-models/rebuild';
import { readModelTable } from '../../../src/outbox/page';
import { createPageCommandPipeline } from '../../../src/outbox/page/page-commands';
import { WireClientEventSchema } from '../../../src/outbox/protocol/messages';
import { ValidationError } from '../../../src/outbox/validation';
import { openTestDb } from '../../support/app-db';
import { orderSummary } from '../../support/order-rows';
import {
  add,
  applyServerEvents,
  create,
  deliverOutbox,
  discardFrom,
  dump,
  makeStore,
  must,
  type Store,
  serverEvent,
  tableCounts,
  updateOutbox,
} from './fixtures';

let store: Store;
afterEach(() => store?.db.close());

describe('a command', () => {
  it('stores each event with its full envelope, a global position and the next stream version', async () => {
    store = makeStore();
    const { db, handler, ids, clientId, clock } = store;
    const orderId = ids();
    const first = await must(handler.execute({ command: create(orderId) }));
    clock.advance(1000);
    const second = await must(
      handler.execute({ command: add(orderId, 'ESP-1', 2), causationId: first.commandId }),
    );

    const events = await db.events.orderBy('position').toArray();
    expect(events.map((event) => [event.type, event.kind === 'client' && event.version])).toEqual([
      ['OrderCreated', 1],
      ['ProductAdded', 2],
    ]);
    expect(events[0]?.position).toBeLessThan(events[1]?.position ?? 0);
    const stored = events[1];
    expect(stored).toMatchObject({
      kind: 'client',
      streamId: streamIdOf(orderId),
      schemaVersion: 1,
      occurredAt: '2026-11-26T12:00:01.000Z',
      metadata: {
        commandId: second.commandId,
        correlationId: second.commandId,
        causationId: first.commandId,
        occurredAt: '2026-11-26T12:00:01.000Z',
        clientId,
      },
    });
    // What is stored is exactly what the wire contract accepts.
    const {
      kind: _kind,
      position: _position,
      occurredAt: _occurredAt,
      ...wire
    } = stored as NonNullable<typeof stored> & {
      metadata: unknown;
    };
    expect(v.safeParse(WireClientEventSchema, wire).success).toBe(true);
    expect(second).toMatchObject({
      streamType: 'order',
      id: orderId,
      streamId: streamIdOf(orderId),
      version: 2,
      duplicate: false,
    });
    expect(second.events.map((event) => event.eventId)).toEqual([stored?.eventId]);
  });

  it('writes one pending outbox row per event, attempts 0, due at once', async () => {
    store = makeStore();
    const { db, handler, ids } = store;
    const orderId = ids();
    await must(handler.execute({ command: create(orderId) }));
    await must(handler.execute({ command: add(orderId, 'ESP-1', 2) }));
    await must(handler.execute({ command: { type: 'ChangeQuantity', orderId, sku: 'ESP-1', quantity: 3 } }));

    const events = await db.events.orderBy('position').toArray();
    const outbox = await db.outbox.orderBy('position').toArray();
    expect(outbox).toHaveLength(4);
    expect(outbox.map((row) => row.eventId)).toEqual(events.map((event) => event.eventId));
    for (const [index, row] of outbox.entries()) {
      expect(row).toMatchObject({
        position: events[index]?.position,
        streamId: streamIdOf(orderId),
        version: index + 1,
        type: events[index]?.type,
        status: 'pending',
        attempts: 0,
        nextAttemptAt: 0,
        lastError: null,
        deadCode: null,
      });
      // In flight lives in lease records, delivery in the row's absence: nothing else is stored on a row.
      expect(Object.keys(row)).not.toContain('leaseOwner');
    }
  });

  it('updates the read models in the same transaction', async () => {
    store = makeStore();
    const { db, handler, ids } = store;
    const orderId = ids();
    await must(handler.execute({ command: create(orderId, 'Grace Hopper') }));
    await must(handler.execute({ command: add(orderId, 'ESP-1', 2, 250) }));
    await must(handler.execute({ command: add(orderId, 'TEA-1', 1, 100) }));

    expect(await orderSummary(db, orderId)).toMatchObject({
      customerName: 'Grace Hopper',
      customerKey: 'grace hopper',
      status: 'draft',
      lineCount: 2,
      total: 600,
      syncState: 'local',
      orderNumber: null,
      blockedReason: null,
      version: 3,
      createdAt: '2026-11-26T12:00:00.000Z',
    });
    const detail = await readModelTable<OrderLines>(db, 'orderLines').get(orderId);
    expect(detail?.lines.map((line) => [line.sku, line.quantity])).toEqual([
      ['ESP-1', 2],
      ['TEA-1', 1],
    ]);
    expect(await db.streams.get(streamIdOf(orderId))).toMatchObject({
      version: 3,
      state: { status: 'draft' },
    });
  });

  it('that is already satisfied writes no event and answers version unchanged', async () => {
    store = makeStore();
    const { db, handler, ids } = store;
    const orderId = ids();
    await must(handler.execute({ command: create(orderId) }));
    const again = await must(handler.execute({ command: create(orderId) }));
    expect(again).toMatchObject({ version: 1, events: [], duplicate: false });
    expect(await db.events.count()).toBe(1);
    expect(await db.outbox.count()).toBe(1);
  });

  it('a subscriber hears an event outside any transaction, and finds it stored', async () => {
    store = makeStore();
    const { name, handler, ids, bus } = store;
    const other = openTestDb({ name });
    const heard: { inTransaction: boolean; lookup: Promise<unknown> }[] = [];
    const subscription = bus.events$.subscribe((event) =>
      heard.push({
        inTransaction: Dexie.currentTransaction !== null,
        lookup: other.events.get({ eventId: event.eventId }),
      }),
    );
    try {
      const outcome = await must(handler.execute({ command: create(ids()) }));
      expect(heard).toHaveLength(1);
      expect(heard[0]?.inTransaction).toBe(false);
      expect(await heard[0]?.lookup).toMatchObject({ eventId: outcome.events[0]?.eventId });
    } finally {
      subscription.unsubscribe();
      other.close();
    }
  });

  it('publishes its events on the bus only after commit', async () => {
    store = makeStore();
    const { handler, ids, published } = store;
    const orderId = ids();
    const outcome = await must(handler.execute({ command: create(orderId) }));
    expect(published.map((event) => event.eventId)).toEqual(outcome.events.map((event) => event.eventId));
  });
});

describe('the same commandId twice', () => {
  it('writes once and answers the first result, marked duplicate', async () => {
    store = makeStore();
    const { db, handler, ids, published } = store;
    const orderId = ids();
    await must(handler.execute({ command: create(orderId) }));
    const commandId = ids();
    const first = await must(handler.execute({ command: add(orderId, 'ESP-1', 2), commandId }));
    const before = await dump(db);
    const second = await must(handler.execute({ command: add(orderId, 'ESP-1', 2), commandId }));

    expect(second.duplicate).toBe(true);
    expect(second.events).toEqual(first.events);
    expect(second.version).toBe(first.version);
    expect(await dump(db)).toEqual(before);
    expect(published).toHaveLength(2);
    expect((await orderSummary(db, orderId))?.lineCount).toBe(1);
  });

  it('sent concurrently still writes once', async () => {
    store = makeStore();
    const { db, handler, ids } = store;
    const orderId = ids();
    await must(handler.execute({ command: create(orderId) }));
    const commandId = ids();
    const answers = await Promise.all(
      [1, 2, 3].map(() => must(handler.execute({ command: add(orderId, 'ESP-1', 2), commandId }))),
    );
    expect(answers.filter((answer) => !answer.duplicate)).toHaveLength(1);
    expect(new Set(answers.map((answer) => answer.events[0]?.eventId)).size).toBe(1);
    expect(await db.events.count()).toBe(2);
  });
});

describe('two writers on one stream', () => {
  it('take turns: every command decides on what the other wrote, no version is stored twice', async () => {
    store = makeStore();
    const { name, db, handler, ids, clock, clientId } = store;
    const orderId = ids();
    await must(handler.execute({ command: create(orderId) }));
    // A second connection to the same database, as another tab would have.
    const other = openTestDb({ name });
    const otherHandler = createPageCommandPipeline({ db: other, clock, ids, clientId, bus: new EventBus() });
    try {
      const results = await Promise.all(
        Array.from({ length: 10 }, (_, index) =>
          (index % 2 ? handler : otherHandler).execute({ command: add(orderId, `SKU-${index}`, 1) }),
        ),
      );
      // Decisions happen inside the write transaction, so there is no race to lose: every command lands.
      expect(results.every((result) => result.ok)).toBe(true);
      const events = await db.events.where('streamId').equals(streamIdOf(orderId)).sortBy('position');
      const versions = events.map((event) => (event.kind === 'client' ? event.version : 0));
      expect(versions).toEqual(Array.from({ length: 11 }, (_, index) => index + 1));
      expect((await orderSummary(db, orderId))?.lineCount).toBe(10);
      expect(await db.outbox.count()).toBe(11);
    } finally {
      other.close();
    }
  });

  it('a writer that commits between a command and its transaction is seen by the decision', async () => {
    store = makeStore();
    const { db, handler, ids } = store;
    const orderId = ids();
    await must(handler.execute({ command: create(orderId) }));
    slipBeforeFirstWrite(store, makeCompetitor(store, orderId));
    const outcome = await must(handler.execute({ command: add(orderId, 'ESP-1', 1) }));
    expect(outcome.version).toBe(3);
    expect((await orderSummary(db, orderId))?.lineCount).toBe(2);
  });

  it('so a rule the other writer made true still holds', async () => {
    store = makeStore();
    const { db, handler, ids } = store;
    const orderId = ids();
    await must(handler.execute({ command: create(orderId) }));
    // The competitor adds TEA-1 at 250; our AddProduct of TEA-1 at 300 was fine on the old state.
    slipBeforeFirstWrite(store, makeCompetitor(store, orderId));
    const result = await handler.execute({ command: add(orderId, 'TEA-1', 1, 300) });
    expect(!result.ok && result.error.code).toBe('price_mismatch');
    expect(await db.events.count()).toBe(2);
  });
});

/** Lets `competitor` commit after the command was queued and before its write transaction opens. */
function slipBeforeFirstWrite(s: Store, competitor: () => Promise<void>) {
  const originalTransaction = s.db.transaction.bind(s.db);
  let slipped = false;
  (s.db as { transaction: unknown }).transaction = async (...args: unknown[]) => {
    if (!slipped && args[0] === 'rw') {
      slipped = true;
      await competitor();
    }
    return (originalTransaction as (...a: unknown[]) => unknown)(...args);
  };
}

function makeCompetitor(store: Store, orderId: string) {
  const { name, clock, ids, clientId } = store;
  return async () => {
    const other = openTestDb({ name });
    const handler = createPageCommandPipeline({ db: other, clock, ids, clientId, bus: new EventBus() });
    await must(handler.execute({ command: add(orderId, 'TEA-1', 1) }));
    other.close();
  };
}

describe('atomicity', () => {
  it('a fault after the events are written leaves events, outbox and read models unchanged and the bus silent', async () => {
    let armed = false;
    store = makeStore({
      faults: {
        whileWriting: () => {
          if (armed) throw new Error('power cut');
        },
      },
    });
    const { db, handler, ids, published } = store;
    const orderId = ids();
    await must(handler.execute({ command: create(orderId) }));
    const before = await dump(db);
    const heard = published.length;
    armed = true;

    const result = await handler.execute({ command: add(orderId, 'ESP-1', 2) });

    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error).toMatchObject({ code: 'storage_failed' });
    expect(await dump(db)).toEqual(before);
    expect(published).toHaveLength(heard);
    // The handler still works afterwards, from the committed state.
    armed = false;
    const next = await must(handler.execute({ command: add(orderId, 'ESP-1', 2) }));
    expect(next.version).toBe(2);
  });

  it('a QuotaExceededError becomes StorageError quota_exceeded, with nothing half-written', async () => {
    let armed = false;
    store = makeStore({
      faults: {
        whileWriting: () => {
          if (armed) throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
        },
      },
    });
    const { db, handler, ids } = store;
    const orderId = ids();
    await must(handler.execute({ command: create(orderId) }));
    const before = await dump(db);
    armed = true;

    const result = await handler.execute({ command: add(orderId, 'ESP-1', 2) });

    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.error).toBeInstanceOf(StorageError);
      expect(result.error.code).toBe('quota_exceeded');
      expect(result.error.message).toMatch(/out of storage space: nothing was saved/);
    }
    expect(await dump(db)).toEqual(before);
  });

  it('a QuotaExceededError from IndexedDB itself (a failing put) is reported the same way', async () => {
    store = makeStore();
    const { db, handler, ids } = store;
    const orderId = ids();
    await must(handler.execute({ command: create(orderId) }));
    const before = await tableCounts(db);
    // Make the outbox write fail the way a full disk does, inside the real transaction.
    db.outbox.hook('creating', () => {
      throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
    });
    const result = await handler.execute({ command: add(orderId, 'ESP-1', 2) });
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error.code).toBe('quota_exceeded');
    expect(await tableCounts(db)).toEqual(before);
  });
});

describe('a discarded stream', () => {
  it('takes no more commands', async () => {
    store = makeStore();
    const { db, handler, ids } = store;
    const orderId = ids();
    await must(handler.execute({ command: create(orderId) }));
    await must(handler.execute({ command: add(orderId, 'ESP-1', 2) }));
    const streamId = streamIdOf(orderId);
    await db.streams.update(streamId, { discardedFromVersion: 2 });
    const before = await tableCounts(db);

    const result = await handler.execute({ command: add(orderId, 'TEA-1', 1) });

    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.error).toBeInstanceOf(StreamDiscardedError);
      expect(result.error.code).toBe('stream_discarded');
    }
    expect(await tableCounts(db)).toEqual(before);
    expect(orderIdOf(streamId)).toBe(orderId);
  });
});

/*
 * Each command decides on the stream's stored snapshot inside its write transaction. These prove that what
 * another tab, the sync engine or a discard wrote since is always what the next decision sees.
 */
describe('a pipeline that already wrote the order', () => {
  it('writes the next command on it in its write transaction alone', async () => {
    store = makeStore();
    const { db, handler, ids } = store;
    const orderId = ids();
    await must(handler.execute({ command: create(orderId) }));
    const modes: string[] = [];
    const original = db.transaction.bind(db);
    (db as { transaction: unknown }).transaction = (...args: unknown[]) => {
      modes.push(String(args[0]));
      return (original as (...a: unknown[]) => unknown)(...args);
    };
    await must(handler.execute({ command: add(orderId, 'ESP-1', 1) }));
    await must(handler.execute({ command: add(orderId, 'TEA-1', 1) }));
    // One rw transaction per command: the decision reads the snapshot inside it, nothing before.
    expect(modes).toEqual(['rw', 'rw']);
  });

  it('writes the delivery as it is now after a dead entry was retried elsewhere', async () => {
    store = makeStore();
    const { db, handler, ids } = store;
    const orderId = ids();
    const first = await must(handler.execute({ command: create(orderId) }));
    const created = first.events[0]?.eventId ?? '';
    await updateOutbox(db, [created], { status: 'dead', deadCode: 'rejected:x', lastError: 'refused' });
    // Written while the entry is dead: the delivery row says the order needs attention.
    await must(handler.execute({ command: add(orderId, 'ESP-1', 1) }));
    expect((await orderSummary(db, orderId))?.syncState).toBe('attention');
    // Another context retries the dead entry: only the outbox row and the summary change.
    await updateOutbox(db, [created], { status: 'pending', deadCode: null, lastError: null });
    expect((await orderSummary(db, orderId))?.syncState).toBe('local');

    await must(handler.execute({ command: add(orderId, 'TEA-1', 1) }));
    expect(await orderSummary(db, orderId)).toMatchObject({ syncState: 'local', blockedReason: null });
    const written = await dump(db);
    await rebuildReadModels(db);
    expect(await dump(db)).toEqual(written);
  });

  it("tells the order's view only the rows that exist, after a delivery that left the summary as it was", async () => {
    store = makeStore();
    const { db, handler, ids } = store;
    const orderId = ids();
    const first = await must(handler.execute({ command: create(orderId) }));
    await must(handler.execute({ command: add(orderId, 'ESP-1', 1) }));
    // The first row is delivered, the second still waits: the summary stays "local" and is not rewritten.
    await deliverOutbox(db, [first.events[0]?.eventId ?? '']);
    const views: (readonly number[])[] = [];
    const subscription = liveOrder(db, orderId, store.clock).subscribe((view) => {
      if (view) views.push(view.outbox.map((entry) => entry.version));
    });
    await vi.waitFor(() => expect(views.at(-1)).toEqual([2]));
    await must(handler.execute({ command: add(orderId, 'TEA-1', 1) }));
    subscription.unsubscribe();
    expect(views.at(-1)).toEqual([2, 3]);
    expect(views.some((versions) => versions.includes(1))).toBe(false);
  });

  it('decides on the events another tab wrote since, taking turns on one order', async () => {
    store = makeStore();
    const { name, db, handler, ids, clock, clientId } = store;
    const orderId = ids();
    const other = openTestDb({ name });
    const otherTab = createPageCommandPipeline({ db: other, clock, ids, clientId, bus: new EventBus() });
    try {
      await must(handler.execute({ command: create(orderId) }));
      await must(otherTab.execute({ command: add(orderId, 'TEA-1', 1, 250) }));
      // Fine on what this tab last wrote, wrong once the other tab's TEA-1 at 250 is known.
      const mismatch = await handler.execute({ command: add(orderId, 'TEA-1', 1, 300) });
      expect(!mismatch.ok && mismatch.error.code).toBe('price_mismatch');
      const third = await must(handler.execute({ command: add(orderId, 'ESP-1', 1) }));
      // Only possible if the other tab sees ESP-1, which this tab added after the other's last write.
      const fourth = await must(
        otherTab.execute({ command: { type: 'ChangeQuantity', orderId, sku: 'ESP-1', quantity: 5 } }),
      );
      const fifth = await must(
        handler.execute({ command: { type: 'RemoveProduct', orderId, sku: 'TEA-1' } }),
      );

      expect(third.version).toBe(3);
      expect(fourth.version).toBeGreaterThan(third.version);
      expect(fifth.version).toBeGreaterThan(fourth.version);
      const events = await db.events.where('streamId').equals(streamIdOf(orderId)).sortBy('position');
      const versions = events.map((event) => (event.kind === 'client' ? event.version : 0));
      expect(versions).toEqual(Array.from({ length: fifth.version }, (_, index) => index + 1));
      expect((await readModelTable<OrderLines>(db, 'orderLines').get(orderId))?.lines).toEqual([
        expect.objectContaining({ sku: 'ESP-1', quantity: 5 }),
      ]);
    } finally {
      other.close();
    }
  });

  it('refuses a change once the server rejected the order, though its own last write allowed it', async () => {
    store = makeStore();
    const { db, handler, ids } = store;
    const orderId = ids();
    await must(handler.execute({ command: create(orderId) }));
    await must(handler.execute({ command: add(orderId, 'ESP-1', 1) }));
    // The sync engine stores a server decision: the stream's version stays, its state does not.
    await applyServerEvents(db, [
      serverEvent(
        streamIdOf(orderId),
        '2026-11-26T12:00:05.000Z',
        { type: 'OrderRejected', code: 'credit_limit', reason: 'Over the limit' },
        ids(),
      ),
    ]);
    const before = await dump(db);

    const result = await handler.execute({ command: add(orderId, 'TEA-1', 1) });

    expect(!result.ok && result.error.code).toBe('order_not_editable');
    expect(await dump(db)).toEqual(before);
  });

  it('refuses to place an order whose last change was discarded on this device since', async () => {
    store = makeStore();
    const { db, handler, ids } = store;
    const orderId = ids();
    const streamId = streamIdOf(orderId);
    await must(handler.execute({ command: create(orderId) }));
    await must(handler.execute({ command: add(orderId, 'ESP-1', 1) }));
    await discardFrom(db, streamId, 2, 'Not wanted', '2026-11-26T12:00:05.000Z', ids);
    const before = await dump(db);

    const result = await handler.execute({ command: { type: 'PlaceOrder', orderId } });

    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error).toBeInstanceOf(StreamDiscardedError);
    expect(await dump(db)).toEqual(before);
  });

  it('answers a repeated commandId with its first result even when the order has moved on since', async () => {
    store = makeStore();
    const { db, handler, ids } = store;
    const orderId = ids();
    await must(handler.execute({ command: create(orderId) }));
    const commandId = ids();
    const first = await must(handler.execute({ command: add(orderId, 'ESP-1', 2), commandId }));
    await must(handler.execute({ command: { type: 'PlaceOrder', orderId } }));
    const before = await dump(db);

    // On the placed order the command itself would now be refused; the resend must still get its answer.
    const again = await must(handler.execute({ command: add(orderId, 'ESP-1', 2), commandId }));

    expect(again).toMatchObject({ duplicate: true, version: first.version, events: first.events });
    expect(await dump(db)).toEqual(before);
  });

  it('keeps writing correct versions after a rebuild of the read models and across many orders', async () => {
    store = makeStore();
    const { db, handler, ids } = store;
    const orderIds = [ids(), ids(), ids()];
    for (const orderId of orderIds) await must(handler.execute({ command: create(orderId) }));
    await rebuildReadModels(db);
    for (let round = 0; round < 3; round += 1) {
      for (const orderId of orderIds) {
        const outcome = await must(handler.execute({ command: add(orderId, `SKU-${round}`, 1) }));
        expect(outcome.version).toBe(round + 2);
      }
    }
    for (const orderId of orderIds) {
      expect((await orderSummary(db, orderId))?.lineCount).toBe(3);
    }
  });
});

describe('commands issued together (one transaction for the group)', () => {
  it('commits commands issued together, each stream in arrival order, as if typed one by one', async () => {
    store = makeStore();
    const { db, ids, handler: committer, published } = store;
    const [a, b] = [ids(), ids()];
    const results = await Promise.all([
      committer.execute({ command: create(a) }),
      committer.execute({ command: create(b, 'Grace Hopper') }),
      committer.execute({ command: add(a, 'ESP-1', 2) }),
      committer.execute({ command: add(b, 'TEA-1', 1, 900) }),
      committer.execute({ command: add(a, 'ESP-1', 3) }),
      committer.execute({ command: { type: 'PlaceOrder', orderId: a } }),
    ]);

    expect(results.every((result) => result.ok)).toBe(true);
    const stream = await db.events.where('streamId').equals(streamIdOf(a)).sortBy('position');
    expect(stream.map((event) => [event.type, event.kind === 'client' && event.version])).toEqual([
      ['OrderCreated', 1],
      ['ProductAdded', 2],
      ['ProductAdded', 3],
      ['OrderPlaced', 4],
    ]);
    // The placement saw both additions made earlier in the same group.
    expect(stream[3]).toMatchObject({ data: { total: 5 * 250, lineCount: 1 } });
    expect(await orderSummary(db, a)).toMatchObject({ status: 'placed', total: 1250, version: 4 });
    expect(await orderSummary(db, b)).toMatchObject({ status: 'draft', total: 900, version: 2 });
    expect(await db.outbox.count()).toBe(6);
    expect(published).toHaveLength(6);
  });

  it('leaves a failing command out with its own error while the rest of its group commits', async () => {
    const broken = new Set<string>();
    store = makeStore({
      faults: {
        whileWriting: (commandId) => {
          if (broken.has(commandId)) throw new Error('disk hiccup while writing this command');
        },
      },
    });
    const { db, ids, handler: committer, published } = store;
    const [a, b] = [ids(), ids()];
    const faultyId = ids();
    broken.add(faultyId);
    const results = await Promise.all([
      committer.execute({ command: create(a) }),
      committer.execute({ command: add(a, 'ESP-1', 0) }),
      committer.execute({ command: { type: 'PlaceOrder', orderId: b } }),
      committer.execute({ command: create(b, 'Grace Hopper'), commandId: faultyId }),
      committer.execute({ command: add(a, 'ESP-1', 2) }),
    ]);

    const [created, invalid, refused, faulty, added] = results;
    expect(created?.ok).toBe(true);
    expect(invalid?.ok === false && invalid.error).toBeInstanceOf(ValidationError);
    expect(refused?.ok === false && refused.error).toBeInstanceOf(OrderDomainError);
    expect(faulty?.ok === false && faulty.error).toBeInstanceOf(StorageError);
    expect(added?.ok).toBe(true);

    // Only the two accepted commands are stored, with contiguous versions and complete read models.
    const events = await db.events.orderBy('position').toArray();
    expect(events.map((event) => [event.streamId, event.type])).toEqual([
      [streamIdOf(a), 'OrderCreated'],
      [streamIdOf(a), 'ProductAdded'],
    ]);
    expect(await db.events.where('streamId').equals(streamIdOf(b)).count()).toBe(0);
    expect(await db.commands.get(faultyId)).toBeUndefined();
    expect(await orderSummary(db, b)).toBeUndefined();
    expect((await db.outbox.toArray()).map((row) => row.eventId)).toEqual(
      events.map((event) => event.eventId),
    );
    // Subscribers heard exactly the committed events, never the rolled-back attempt.
    expect(published.map((event) => event.eventId)).toEqual(events.map((event) => event.eventId));
  });

  it('answers a commandId seen before with the first result and writes nothing more', async () => {
    store = makeStore();
    const { db, ids, handler: committer, clock, clientId, name } = store;
    const orderId = ids();
    const commandId = ids();
    const first = await must(committer.execute({ command: create(orderId), commandId }));
    const [again, sameGroupOther] = await Promise.all([
      committer.execute({ command: create(orderId), commandId }),
      committer.execute({ command: add(orderId, 'A-1', 1), commandId: ids() }),
    ]);
    expect(again).toEqual({ ok: true, value: { ...first, duplicate: true } });
    expect(sameGroupOther.ok).toBe(true);

    const repeated = ids();
    const pair = await Promise.all([
      committer.execute({ command: add(orderId, 'B-1', 1), commandId: repeated }),
      committer.execute({ command: add(orderId, 'B-1', 1), commandId: repeated }),
    ]);
    expect(pair[1]).toMatchObject({ ok: true, value: { duplicate: true, version: 3 } });
    expect(await db.events.count()).toBe(3);
    // Another tab's pipeline knows them too: the idempotency table is in the database, not in memory.
    const other = openTestDb({ name });
    const handler = createPageCommandPipeline({ db: other, clock, ids, clientId, bus: new EventBus() });
    expect(
      await must(handler.execute({ command: add(orderId, 'B-1', 1), commandId: repeated })),
    ).toMatchObject({
      duplicate: true,
      version: 3,
    });
    other.close();
  });

  it('writes read models a rebuild reproduces exactly', async () => {
    store = makeStore();
    const { db, ids, handler: committer } = store;
    const orders = [ids(), ids(), ids()];
    await Promise.all(
      orders.flatMap((orderId, n) => [
        committer.execute({ command: create(orderId, `Customer ${n}`) }),
        committer.execute({ command: add(orderId, 'X-1', n + 1) }),
        committer.execute({ command: { type: 'ChangeQuantity', orderId, sku: 'X-1', quantity: 9 } }),
      ]),
    );
    const inline = await dump(db);
    await rebuildReadModels(db);
    expect(await dump(db)).toEqual(inline);
  });
});

describe('a commandId reused for a different command', () => {
  it('is refused with CommandIdReusedError and writes nothing, after the first commit or within a group', async () => {
    store = makeStore();
    const { db, handler, ids } = store;
    const orderId = ids();
    const commandId = ids();
    await must(handler.execute({ command: create(orderId), commandId }));
    const before = await dump(db);
    const later = await handler.execute({ command: add(orderId, 'ESP-1', 1), commandId });
    expect(!later.ok && later.error).toBeInstanceOf(CommandIdReusedError);
    expect(await dump(db)).toEqual(before);

    const shared = ids();
    const [first, second] = await Promise.all([
      handler.execute({ command: add(orderId, 'ESP-1', 1), commandId: shared }),
      handler.execute({ command: add(orderId, 'TEA-1', 1), commandId: shared }),
    ]);
    expect(first?.ok).toBe(true);
    expect(!second.ok && second.error).toMatchObject({ code: 'command_id_reused', commandId: shared });
    expect(await db.events.count()).toBe(2);
  });

  it('is the same command when only the order of its fields differs', async () => {
    store = makeStore();
    const { handler, ids } = store;
    const orderId = ids();
    const commandId = ids();
    await must(handler.execute({ command: create(orderId, 'Ada', 'EUR'), commandId }));
    const respelled = { currency: 'EUR', customerName: 'Ada', orderId, type: 'CreateOrder' };
    expect(await must(handler.execute({ command: respelled, commandId }))).toMatchObject({ duplicate: true });
  });
});

describe('a command that fails the boundary check', () => {
  it('gets every issue at once and nothing is written', async () => {
    store = makeStore();
    const { db, handler } = store;
    const before = await tableCounts(db);
    const result = await handler.execute({
      command: { type: 'AddProduct', orderId: 'not-a-uuid', sku: '', quantity: -1 },
      commandId: 'nope',
    });
    expect(!result.ok && result.error).toBeInstanceOf(ValidationError);
    if (!result.ok && result.error instanceof ValidationError) {
      expect(result.error.issues.map((issue) => issue.path)).toEqual(
        expect.arrayContaining(['orderId', 'commandId']),
      );
    }
    const unknown = await handler.execute({ command: { type: 'LaunchRocket' } });
    expect(!unknown.ok && unknown.error.message).toMatch(/Unknown command type "LaunchRocket"/);
    expect(await tableCounts(db)).toEqual(before);
  });
});
