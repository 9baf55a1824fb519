import { HttpResponse, http } from 'msw';
import { describe, expect, it } from 'vitest';
import { defaultRetryPolicy } from '../../../src/outbox/device/sync/retry-policy';
import { PULL_CURSOR_KEY, readSyncMeta } from '../../../src/outbox/device/sync/sync-meta';
import { orderSummary } from '../../support/order-rows';
import {
  BASE_URL,
  type ClientSide,
  expectServerStream,
  laneBreaches,
  loggingTransport,
  type PushLogEntry,
  setupSyncTestServer,
} from './harness';

const { server, setup } = setupSyncTestServer({ seed: 1 });

/** The order's client events in version order, whether their outbox rows are still there or not. */
const eventIdsOf = async (client: ClientSide, orderId: string) =>
  (await client.db.events.where('streamId').equals(`order-${orderId}`).sortBy('position'))
    .filter((event) => event.kind === 'client')
    .map((event) => event.eventId);

describe('delivery', () => {
  it('delivers every entry once, applies the confirmation at once and shows the order number', async () => {
    const { client, backend } = setup();
    const orderId = await client.draftOrder(['SKU-1', 'SKU-2']);
    await client.run({ type: 'PlaceOrder', orderId });
    const published: string[] = [];
    client.bus.events$.subscribe((event) => published.push(event.type));

    const report = await client.engine().flush();

    expect(report).toMatchObject({ sent: 4, delivered: 4, dead: 0, retrying: 0, outcome: 'drained' });
    // Delivered rows are deleted, in the transaction that recorded the answer.
    expect(await client.outbox()).toEqual([]);
    expect(await client.deliveries()).toEqual(['delivered', 'delivered', 'delivered', 'delivered']);
    await expectServerStream(backend.storage, orderId, await eventIdsOf(client, orderId));
    const summary = await orderSummary(client.db, orderId);
    expect(summary).toMatchObject({ status: 'confirmed', orderNumber: 'SO-000001', syncState: 'delivered' });
    expect(published).toEqual(['OrderConfirmed']);
  });

  it('reports idle when there is nothing to send', async () => {
    const { client } = setup();
    expect(await client.engine().flush()).toMatchObject({ sent: 0, outcome: 'idle', nextAttemptAt: null });
  });

  it('joins a running flush instead of starting a second one', async () => {
    const { client } = setup();
    await client.draftOrder();
    const engine = client.engine();
    const first = engine.flush();
    const second = engine.flush();
    expect(second).toBe(first);
    expect((await first).delivered).toBe(2);
  });

  it('sends in batches no bigger than the policy allows, in position order', async () => {
    const { client } = setup();
    const log: PushLogEntry[] = [];
    for (let i = 0; i < 5; i += 1) await client.draftOrder(['SKU-1', 'SKU-2']);
    const report = await client
      .engine({ policy: { batchSize: 4 }, transport: loggingTransport(fetch, log) })
      .flush();
    expect(report.delivered).toBe(15);
    expect(log.map((entry) => entry.events.length)).toEqual([4, 4, 4, 3]);
    const sentOrder = log.flatMap((entry) => entry.events.map((event) => event.eventId));
    const written = (await client.db.events.orderBy('position').toArray()).map((event) => event.eventId);
    expect(sentOrder).toEqual(written);
  });

  it('keeps each batch under the byte limit', async () => {
    const { client } = setup();
    const log: PushLogEntry[] = [];
    for (let i = 0; i < 4; i += 1) await client.draftOrder(['SKU-1', 'SKU-2', 'SKU-3']);
    const bodies: number[] = [];
    const transport: typeof fetch = (input, init) => {
      if (typeof init?.body === 'string') bodies.push(new TextEncoder().encode(init.body).byteLength);
      return fetch(input, init);
    };
    const report = await client
      .engine({ policy: { maxBatchBytes: 2_500 }, transport: loggingTransport(transport, log) })
      .flush();
    expect(report.delivered).toBe(16);
    expect(bodies.length).toBeGreaterThan(1);
    for (const size of bodies) expect(size).toBeLessThanOrEqual(2_500);
  });
});

describe('pull', () => {
  it('pulls after a push that delivered, and moves the cursor only from pull answers', async () => {
    const { client } = setup();
    const orderId = await client.draftOrder();
    await client.run({ type: 'PlaceOrder', orderId });
    let pulls = 0;
    let pullFails = true;
    server.use(
      http.get(`${BASE_URL}/pull`, () => {
        pulls += 1;
        // Falling through (undefined) hands the request to the real backend.
        if (!pullFails) return undefined;
        return HttpResponse.json({ error: { code: 'internal', message: 'down' } }, { status: 500 });
      }),
    );
    const engine = client.engine();
    const report = await engine.flush();
    expect(report.outcome).toBe('drained');
    expect(pulls).toBe(1);
    // The push answer's confirmation is applied at once, but the cursor does not move from a push.
    expect((await orderSummary(client.db, orderId))?.status).toBe('confirmed');
    expect(await client.db.meta.get(PULL_CURSOR_KEY)).toBeUndefined();

    pullFails = false;
    expect(await engine.pull()).toBe(0);
    expect((await client.db.meta.get(PULL_CURSOR_KEY))?.value).toBe('1');
  });

  it('follows hasMore page by page, applies each page once and ends at the last cursor', async () => {
    const { client, backend } = setup();
    const orders = [];
    for (let i = 0; i < 3; i += 1) {
      const orderId = await client.draftOrder(['SKU-1']);
      await client.run({ type: 'PlaceOrder', orderId });
      orders.push(orderId);
    }
    // The confirmations are made but their answers lost: only a pull can bring them.
    backend.faults.set({ ackLossRate: 1 });
    await client.engine().flush();
    backend.faults.set({ ackLossRate: 0 });
    const cursors: (string | null)[] = [];
    server.use(
      http.get(`${BASE_URL}/pull`, async ({ request }) => {
        cursors.push(new URL(request.url).searchParams.get('since'));
        const full = (await (await backend.handle(request)).json()) as {
          serverEvents: { serverSeq: number }[];
        };
        const page = full.serverEvents.slice(0, 1);
        return HttpResponse.json({
          protocol: 1,
          serverEvents: page,
          cursor: String(page[0]?.serverSeq ?? new URL(request.url).searchParams.get('since') ?? 0),
          hasMore: full.serverEvents.length > 1,
        });
      }),
    );
    const engine = client.engine();
    expect(await engine.pull()).toBe(3);
    expect(cursors).toEqual([null, '1', '2']);
    expect((await client.db.meta.get(PULL_CURSOR_KEY))?.value).toBe('3');
    for (const orderId of orders) {
      expect((await orderSummary(client.db, orderId))?.status).toBe('confirmed');
    }
    // Pulling again brings nothing new and stores nothing twice.
    expect(await engine.pull()).toBe(0);
    expect(await client.db.events.filter((event) => event.kind === 'server').count()).toBe(3);
  });

  it('pulls on the next flush, from any engine, when the pull after a delivery failed', async () => {
    const { client, backend } = setup();
    const orderId = await client.draftOrder();
    await client.run({ type: 'PlaceOrder', orderId });
    // The push is stored but its answer lost, so the confirmation can only arrive by pull.
    backend.faults.set({ ackLossRate: 1 });
    await client.engine().flush({ force: true });
    backend.faults.set({ ackLossRate: 0 });
    let pullFails = true;
    server.use(
      http.get(`${BASE_URL}/pull`, () =>
        pullFails
          ? HttpResponse.json({ error: { code: 'internal', message: 'down' } }, { status: 500 })
          : undefined,
      ),
    );
    expect(await client.engine().flush({ force: true })).toMatchObject({ delivered: 3, pulled: 0 });
    expect((await orderSummary(client.db, orderId))?.status).toBe('placed');

    // The failed pull gated the next attempt with backoff: the schedule knows when to pay the debt.
    const owed = await readSyncMeta(client.db);
    expect(owed).toMatchObject({ pullOwed: true, pullFailures: 1 });
    expect(owed.nextAttemptAt).not.toBeNull();

    pullFails = false;
    // Nothing is left to send; a fresh engine (another tab, the worker) still owes the pull.
    const report = await client.engine().flush({ force: true });
    expect(report).toMatchObject({ sent: 0, pulled: 1, outcome: 'idle' });
    expect((await orderSummary(client.db, orderId))?.status).toBe('confirmed');
    expect((await readSyncMeta(client.db)).pullOwed).toBe(false);
    // Once paid, an idle flush does not pull again.
    let pulls = 0;
    server.use(
      http.get(`${BASE_URL}/pull`, () => {
        pulls += 1;
        return undefined;
      }),
    );
    await client.engine().flush({ force: true });
    expect(pulls).toBe(0);
  });

  it('rejects an on-demand pull with a typed error and records it', async () => {
    const { client } = setup();
    server.use(http.get(`${BASE_URL}/pull`, () => new HttpResponse('<html>portal</html>', { status: 200 })));
    await expect(client.engine().pull()).rejects.toMatchObject({ code: 'invalid_response' });
    expect((await readSyncMeta(client.db)).lastError).toMatch(/not JSON/);
  });
});

describe('leases', () => {
  it('resends a batch abandoned after sending once its lease expires, and the server applies it once', async () => {
    const { client, backend, clock } = setup();
    const orderId = await client.draftOrder(['SKU-1', 'SKU-2']);
    await client.run({ type: 'PlaceOrder', orderId });
    // The first flusher's request reaches the server, then its page dies: the answer never comes back.
    let abandon: (reason: Error) => void = () => undefined;
    const dying = client.engine({
      ownerId: 'dying-tab',
      transport: async (input, init) => {
        await fetch(input, init);
        return new Promise<Response>((_, reject) => {
          abandon = reject;
        });
      },
    });
    const abandoned = dying.flush();
    await waitFor(async () => (await backend.storage.read((r) => r.stats())).eventsStored === 4);
    // In flight: one lease record names the batch; the rows themselves stay as the command wrote them.
    expect(await client.deliveries()).toEqual(['inflight', 'inflight', 'inflight', 'inflight']);
    expect(await client.db.leases.toArray()).toMatchObject([{ ownerId: 'dying-tab' }]);
    expect((await client.outbox()).map((row) => [row.status, row.attempts])).toEqual(
      Array(4).fill(['pending', 0]),
    );

    const survivor = client.engine({ ownerId: 'other-tab' });
    // Within the lease nobody else may send the rows, and the lease's end is when to look again.
    const leaseUntil = clock.now() + defaultRetryPolicy.leaseMs;
    expect(await survivor.flush()).toMatchObject({ sent: 0, outcome: 'idle', nextAttemptAt: leaseUntil });
    clock.set(leaseUntil);
    const report = await survivor.flush();
    expect(report).toMatchObject({ sent: 4, delivered: 4 });

    const stats = await backend.storage.read((r) => r.stats());
    expect(stats).toMatchObject({
      eventsStored: 4,
      duplicatesAnswered: 4,
      serverEventsByType: { OrderConfirmed: 1 },
    });
    await expectServerStream(backend.storage, orderId, await eventIdsOf(client, orderId));
    expect((await orderSummary(client.db, orderId))?.orderNumber).toBe('SO-000001');

    // The dead flusher's late failure must not undo the deliveries.
    abandon(new TypeError('page closed'));
    await abandoned;
    expect(await client.deliveries()).toEqual(['delivered', 'delivered', 'delivered', 'delivered']);
    expect(await client.db.leases.count()).toBe(0);
  });

  it('takes back at once, under the flush lock, the rows of a flusher that died holding them', async () => {
    const { client, backend } = setup();
    const orderId = await client.draftOrder(['SKU-1']);
    // A flusher sends and its browser is killed before the answer: its lease outlives it on disk.
    const dying = client.engine({
      ownerId: 'killed-browser',
      transport: async (input, init) => {
        await fetch(input, init);
        return new Promise<Response>(() => undefined);
      },
    });
    void dying.flush();
    await waitFor(async () => (await backend.storage.read((r) => r.stats())).eventsStored === 2);
    expect(await client.db.leases.count()).toBe(1);

    // The restarted app flushes holding the lock every flusher holds for its whole flush: nobody else is
    // flushing, so the lease is a dead flusher's and its rows go now, not when the lease passes.
    const report = await client.engine({ ownerId: 'restarted' }).flush({ exclusive: true });
    expect(report).toMatchObject({ sent: 2, delivered: 2, outcome: 'drained' });
    expect(await client.db.leases.count()).toBe(0);
    const stats = await backend.storage.read((r) => r.stats());
    expect(stats).toMatchObject({ eventsStored: 2, duplicatesAnswered: 2 });
    await expectServerStream(backend.storage, orderId, await eventIdsOf(client, orderId));
  });

  it('lets two engines on one database flush at once without sending any entry twice', async () => {
    const { client, backend } = setup();
    const log: PushLogEntry[] = [];
    for (let i = 0; i < 10; i += 1) await client.draftOrder(['SKU-1', 'SKU-2']);
    const engines = ['tab-a', 'tab-b'].map((ownerId) =>
      client.engine({ ownerId, policy: { batchSize: 3 }, transport: loggingTransport(fetch, log) }),
    );
    const reports = await Promise.all(engines.map((engine) => engine.flush()));
    expect(reports.reduce((sum, report) => sum + report.delivered, 0)).toBe(30);
    const sent = log.flatMap((entry) => entry.events.map((event) => event.eventId));
    expect(new Set(sent).size).toBe(30);
    expect(sent).toHaveLength(30);
    expect((await backend.storage.read((r) => r.stats())).duplicatesAnswered).toBe(0);
    expect(laneBreaches(log)).toEqual([]);
  });
});

async function waitFor(condition: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 200; i += 1) {
    if (await condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error('condition never held');
}
