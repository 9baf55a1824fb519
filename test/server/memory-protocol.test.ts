import * as v from 'valibot';
import { describe, expect, it } from 'vitest';
import type { OrderEvent } from '../../src/orders/domain/events';
import { foldOrder } from '../../src/orders/domain/order';
import { ManualClock, uuidv7Generator } from '../../src/outbox/ids';
import { ErrorBodySchema, PushResponseSchema } from '../../src/outbox/protocol/messages';
import { createSyncHandler } from '../../src/outbox/server/http';
import { createMemoryStorage } from '../../src/outbox/server/memory-storage';
import { type ServerStorage, StorageConflictError } from '../../src/outbox/server/storage';
import { serverStreamTypes as streamTypes } from '../../src/server-plugins';
import { OrderStreamBuilder, runProtocolContract } from './protocol-contract';

runProtocolContract('in-process handler on memory storage', async () => {
  const clock = new ManualClock();
  const storage = createMemoryStorage();
  const handle = createSyncHandler({
    streamTypes,
    storage,
    clock,
    ids: uuidv7Generator(clock),
    token: 'contract-token',
  });
  return {
    fetch: handle,
    baseUrl: 'http://outpost.test/api/sync',
    token: 'contract-token',
    cleanup: () => storage.close(),
  };
});

runProtocolContract(
  'in-process handler without a token, under another base path',
  async () => {
    const clock = new ManualClock();
    const storage = createMemoryStorage();
    const handle = createSyncHandler({
      streamTypes,
      storage,
      clock,
      ids: uuidv7Generator(clock),
      basePath: '/sync/v1/',
    });
    return { fetch: handle, baseUrl: 'http://outpost.test/sync/v1', cleanup: () => storage.close() };
  },
  { withToken: false },
);

describe('sync handler on memory storage', () => {
  const clock = new ManualClock(Date.UTC(2026, 10, 26, 9, 30, 0));
  const ids = uuidv7Generator(clock);

  function pushRequest(body: unknown, headers: Record<string, string> = {}): Request {
    return new Request('http://outpost.test/api/sync/push', {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });
  }

  function placedOrder() {
    const clientId = ids();
    const order = new OrderStreamBuilder(ids, clientId);
    const events = [order.created(), order.added('A-1', 2, 700), order.placed(1400, 1)];
    return { clientId, order, events, body: { protocol: 1, clientId, batchId: ids(), events } };
  }

  it('stamps decisions with the injected clock and numbers orders by their serverSeq', async () => {
    const storage = createMemoryStorage();
    const handle = createSyncHandler({
      streamTypes,
      storage,
      clock,
      ids,
    });
    const first = placedOrder();
    const second = placedOrder();
    await handle(pushRequest(first.body));
    const answer = v.parse(PushResponseSchema, await (await handle(pushRequest(second.body))).json());
    expect(answer.serverEvents).toEqual([
      {
        eventId: expect.any(String),
        streamId: second.order.streamId,
        serverSeq: 2,
        occurredAt: '2026-11-26T09:30:00.000Z',
        type: 'OrderConfirmed',
        data: { orderNumber: 'SO-000002', confirmedAt: '2026-11-26T09:30:00.000Z' },
      },
    ]);
  });

  it('stores each event once when the same batch arrives twice at the same moment', async () => {
    const storage = createMemoryStorage();
    const handle = createSyncHandler({
      streamTypes,
      storage,
      clock,
      ids,
    });
    const { body, events } = placedOrder();
    const answers = await Promise.all([handle(pushRequest(body)), handle(pushRequest(body))]);
    const parsed = await Promise.all(
      answers.map(async (answer) => v.parse(PushResponseSchema, await answer.json())),
    );
    const statuses = parsed.map((answer) => answer.results.map((result) => result.status).join(','));
    expect(statuses.sort()).toEqual(['accepted,accepted,accepted', 'duplicate,duplicate,duplicate']);
    const stats = await storage.read((reader) => reader.stats());
    expect(stats).toMatchObject({ eventsStored: events.length, serverEvents: 1, duplicatesAnswered: 3 });
  });

  it('answers duplicate, not an error, when a racing writer stored the batch between check and write', async () => {
    const inner = createMemoryStorage();
    let raced = false;
    const racing: ServerStorage = {
      ...inner,
      async transaction(work) {
        if (raced) return inner.transaction(work);
        raced = true;
        // The rival's copy of the batch commits; ours then hits the uniqueness constraint.
        await inner.transaction(work);
        throw new StorageConflictError('eventId', 'stored by a concurrent push');
      },
    };
    const handle = createSyncHandler({
      streamTypes,
      storage: racing,
      clock,
      ids,
    });
    const { body } = placedOrder();
    const response = await handle(pushRequest(body));
    expect(response.status).toBe(200);
    const answer = v.parse(PushResponseSchema, await response.json());
    expect(answer.results.map((result) => result.status)).toEqual(['duplicate', 'duplicate', 'duplicate']);
    await expect(inner.read(async (reader) => (await reader.stats()).eventsStored)).resolves.toBe(3);
  });

  it('answers 500 with an error body when the storage itself fails, so the client resends', async () => {
    const inner = createMemoryStorage();
    const broken: ServerStorage = {
      ...inner,
      transaction: async () => {
        throw new Error('disk full');
      },
    };
    const handle = createSyncHandler({
      streamTypes,
      storage: broken,
      clock,
      ids,
    });
    const response = await handle(pushRequest(placedOrder().body));
    expect(response.status).toBe(500);
    expect(v.parse(ErrorBodySchema, await response.json()).error.code).toBe('internal');
  });

  it('applies a configured body limit, trusting neither a small nor a missing Content-Length', async () => {
    const storage = createMemoryStorage();
    const handle = createSyncHandler({
      streamTypes,
      storage,
      clock,
      ids,
      maxBodyBytes: 1_000,
    });
    const { body, events } = placedOrder();
    expect(JSON.stringify(body).length).toBeGreaterThan(1_000);
    expect((await handle(pushRequest(body))).status).toBe(413);
    expect((await handle(pushRequest(body, { 'content-length': '10' }))).status).toBe(413);
    const small = { ...body, events: events.slice(0, 1) };
    expect((await handle(pushRequest(small))).status).toBe(200);
    await expect(storage.read(async (reader) => (await reader.stats()).eventsStored)).resolves.toBe(1);
  });

  it('answers 413 from a declared Content-Length alone, before reading the body', async () => {
    const storage = createMemoryStorage();
    const handle = createSyncHandler({
      streamTypes,
      storage,
      clock,
      ids,
    });
    let pulled = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulled += 1;
        controller.enqueue(new TextEncoder().encode('{'));
      },
    });
    const request = new Request('http://outpost.test/api/sync/push', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-length': String(5 * 1024 * 1024) },
      body: stream,
      duplex: 'half',
    } as RequestInit);
    const response = await handle(request);
    expect(response.status).toBe(413);
    expect(pulled).toBeLessThanOrEqual(1);
  });

  it('answers 404 with an error body outside its base path', async () => {
    const handle = createSyncHandler({
      streamTypes,
      storage: createMemoryStorage(),
      clock,
      ids,
    });
    const response = await handle(new Request('http://outpost.test/api/other/push'));
    expect(response.status).toBe(404);
    expect(v.parse(ErrorBodySchema, await response.json()).error.code).toBe('not_found');
  });
});

describe('an order cancelled offline after the server confirmed it', () => {
  it('ends cancelled with its order number on both sides, whatever order the events are folded in', async () => {
    const clock = new ManualClock();
    const ids = uuidv7Generator(clock);
    const storage = createMemoryStorage();
    const handle = createSyncHandler({
      streamTypes,
      storage,
      clock,
      ids,
    });
    const clientId = ids();
    const order = new OrderStreamBuilder(ids, clientId);
    const placedBatch = [order.created(), order.added('A-1', 1, 900), order.placed(900, 1)];
    const send = async (events: readonly unknown[]) =>
      v.parse(
        PushResponseSchema,
        await (
          await handle(
            new Request('http://outpost.test/api/sync/push', {
              method: 'POST',
              headers: { 'content-type': 'application/json' },
              body: JSON.stringify({ protocol: 1, clientId, batchId: ids(), events }),
            }),
          )
        ).json(),
      );
    const confirmed = await send(placedBatch);
    const cancellation = order.cancelled('Customer called back');
    const late = await send([cancellation]);
    expect(late.results.map((result) => result.status)).toEqual(['accepted']);

    const stored = await storage.read(
      async (reader) => (await reader.streams([order.streamId])).get(order.streamId)?.events ?? [],
    );
    const [decision] = confirmed.serverEvents;
    if (!decision) throw new Error('the placement was not decided');
    // The server stores orders' events whatever their payload types say: read them as the order's.
    const asOrder = (events: readonly unknown[]) => events as OrderEvent[];
    const serverSide = foldOrder(asOrder([...stored.slice(0, 3), decision, ...stored.slice(3)]));
    const clientSide = foldOrder(asOrder([...placedBatch, cancellation, decision]));
    for (const state of [serverSide, clientSide]) {
      expect(state).toMatchObject({ status: 'cancelled', orderNumber: 'SO-000001' });
    }
  });
});

describe('a push whose body breaks off', () => {
  it('is a 400, not a server failure, and stores nothing', async () => {
    const clock = new ManualClock();
    const storage = createMemoryStorage();
    const handle = createSyncHandler({
      streamTypes,
      storage,
      clock,
      ids: uuidv7Generator(clock),
    });
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode('{"protocol":1,'));
        controller.error(new Error('connection reset'));
      },
    });
    const response = await handle(
      new Request('http://outpost.test/api/sync/push', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
        duplex: 'half',
      } as RequestInit),
    );
    expect(response.status).toBe(400);
    await expect(storage.read(async (reader) => (await reader.stats()).eventsStored)).resolves.toBe(0);
  });
});
