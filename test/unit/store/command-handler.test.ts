import Dexie from 'dexie';
import * as v from 'valibot';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createCommandHandler } from '../../../src/outbox/client/command-handler';
import { openDb } from '../../../src/outbox/client/db';
import { ConcurrencyError, StorageError, StreamDiscardedError } from '../../../src/outbox/client/errors';
import { EventBus } from '../../../src/outbox/client/event-bus';
import { liveOrderDetail } from '../../../src/outbox/client/queries';
import { rebuildReadModels } from '../../../src/outbox/client/rebuild';
import { orderIdOf, streamIdOf, WireClientEventSchema } from '../../../src/outbox/protocol/messages';
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
    expect(second).toMatchObject({ orderId, streamId: streamIdOf(orderId), version: 2, duplicate: false });
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

    expect(await db.orderSummaries.get(orderId)).toMatchObject({
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
    const detail = await db.orderDetails.get(orderId);
    expect(detail?.lines.map((line) => [line.sku, line.quantity])).toEqual([
      ['ESP-1', 2],
      ['TEA-1', 1],
    ]);
    expect(detail?.timeline.map((entry) => entry.summary)).toEqual([
      'Created for Grace Hopper in EUR',
      'Added 2 × Product ESP-1 (ESP-1)',
      'Added 1 × Product TEA-1 (TEA-1)',
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
    const other = openDb({ name });
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
    expect((await db.orderSummaries.get(orderId))?.lineCount).toBe(1);
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

describe('two writers racing on one stream', () => {
  it('never store the same version twice; losers decide again on the new state', async () => {
    store = makeStore();
    const { name, db, handler, ids, clock, clientId } = store;
    const orderId = ids();
    await must(handler.execute({ command: create(orderId) }));
    // A second connection to the same database, as another tab would have.
    const other = openDb({ name });
    const otherHandler = createCommandHandler({ db: other, clock, ids, clientId, bus: new EventBus() });
    try {
      const results = await Promise.all(
        Array.from({ length: 10 }, (_, index) =>
          (index % 2 ? handler : otherHandler).execute({ command: add(orderId, `SKU-${index}`, 1) }),
        ),
      );
      const events = await db.events.where('streamId').equals(streamIdOf(orderId)).toArray();
      const versions = events.map((event) => (event.kind === 'client' ? event.version : 0));
      expect(new Set(versions).size).toBe(versions.length);
      expect([...versions].sort((a, b) => a - b)).toEqual(versions.map((_, index) => index + 1));
      for (const result of results) {
        if (!result.ok) expect(result.error).toBeInstanceOf(ConcurrencyError);
      }
      const succeeded = results.filter((result) => result.ok).length;
      expect(events).toHaveLength(1 + succeeded);
      expect((await db.orderSummaries.get(orderId))?.lineCount).toBe(succeeded);
      expect(await db.outbox.count()).toBe(1 + succeeded);
    } finally {
      other.close();
    }
  });

  it('a writer that read a stale version and may not retry fails with ConcurrencyError and writes nothing', async () => {
    store = makeStore({ maxConcurrencyRetries: 0 });
    const { db, handler, ids } = store;
    const orderId = ids();
    await must(handler.execute({ command: create(orderId) }));
    slipBeforeFirstWrite(store, makeCompetitor(store, orderId));
    const result = await handler.execute({ command: add(orderId, 'ESP-1', 1) });
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.error).toBeInstanceOf(ConcurrencyError);
      expect(result.error).toMatchObject({
        code: 'concurrency',
        streamId: streamIdOf(orderId),
        expectedVersion: 1,
        actualVersion: 2,
      });
    }
    expect(await db.events.count()).toBe(2);
  });
});

describe('losing a race with retries left', () => {
  it('reloads and writes on top of the winner', async () => {
    store = makeStore();
    const { db, handler, ids } = store;
    const orderId = ids();
    await must(handler.execute({ command: create(orderId) }));
    slipBeforeFirstWrite(store, makeCompetitor(store, orderId));
    const outcome = await must(handler.execute({ command: add(orderId, 'ESP-1', 1) }));
    expect(outcome.version).toBe(3);
    expect((await db.orderSummaries.get(orderId))?.lineCount).toBe(2);
  });

  it('decides again on the new state, so a rule the winner made true still holds', async () => {
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

/** Lets `competitor` commit after the handler loaded the stream and before its write transaction opens. */
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
    const other = openDb({ name });
    const handler = createCommandHandler({ db: other, clock, ids, clientId, bus: new EventBus() });
    await must(handler.execute({ command: add(orderId, 'TEA-1', 1) }));
    other.close();
  };
}

describe('atomicity', () => {
  it('a fault after the events are written leaves events, outbox and read models unchanged and the bus silent', async () => {
    let armed = false;
    store = makeStore({
      faults: {
        afterAppend: () => {
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
        afterAppend: () => {
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
 * The handler remembers the state its own commits left, to skip the read transaction on the next command.
 * These prove that what it remembers never decides a command on stale state.
 */
describe('a handler that already wrote the order', () => {
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
    // What it remembers matched the stored row both times: no reload, no second try.
    expect(modes).toEqual(['rw', 'rw']);
  });

  it('writes the sync state as it is now, not as its memory of the order has it, after a dead entry is retried', async () => {
    store = makeStore();
    const { db, handler, ids } = store;
    const orderId = ids();
    const first = await must(handler.execute({ command: create(orderId) }));
    const created = first.events[0]?.eventId ?? '';
    await updateOutbox(db, [created], { status: 'dead', deadCode: 'rejected:x', lastError: 'refused' });
    // Written while the entry is dead: the handler now remembers the order as needing attention.
    await must(handler.execute({ command: add(orderId, 'ESP-1', 1) }));
    expect((await db.orderSummaries.get(orderId))?.syncState).toBe('attention');
    // Another context retries the dead entry: only the outbox row and the summary change.
    await updateOutbox(db, [created], { status: 'pending', deadCode: null, lastError: null });
    expect((await db.orderSummaries.get(orderId))?.syncState).toBe('local');

    await must(handler.execute({ command: add(orderId, 'TEA-1', 1) }));
    expect(await db.orderSummaries.get(orderId)).toMatchObject({ syncState: 'local', blockedReason: null });
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
    const subscription = liveOrderDetail(db, orderId, store.clock).subscribe((view) => {
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
    const other = openDb({ name });
    const otherTab = createCommandHandler({ db: other, clock, ids, clientId, bus: new EventBus() });
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
      expect((await db.orderDetails.get(orderId))?.lines).toEqual([
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
    const { db, ids, clock, clientId } = store;
    const handler = createCommandHandler({
      db,
      clock,
      ids,
      clientId,
      bus: new EventBus(),
      snapshotCacheSize: 2,
    });
    const orderIds = [ids(), ids(), ids()];
    for (const orderId of orderIds) await must(handler.execute({ command: create(orderId) }));
    await rebuildReadModels(db);
    // Three orders round-robin with room for two snapshots: every order falls out of memory in turn.
    for (let round = 0; round < 3; round += 1) {
      for (const orderId of orderIds) {
        const outcome = await must(handler.execute({ command: add(orderId, `SKU-${round}`, 1) }));
        expect(outcome.version).toBe(round + 2);
      }
    }
    for (const orderId of orderIds) {
      expect((await db.orderSummaries.get(orderId))?.lineCount).toBe(3);
    }
  });
});
