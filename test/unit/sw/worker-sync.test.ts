import { HttpResponse, http } from 'msw';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { SCHEMA_VERSION } from '../../../src/app/schema-version';
import { createWorkerSync } from '../../../src/outbox/worker/worker-sync';
import { streamTypes } from '../../../src/plugins';
import { orderSummary } from '../../support/order-rows';
import { BASE_URL, expectServerStream, setupSyncTestServer } from '../sync/harness';

/**
 * The service worker's flush (`createWorkerSync`) on the plain IndexedDB implementation, against the mock
 * server through msw: it delivers what a page's Dexie wrote, and when there is no database yet it reports
 * nothing to do without creating one.
 */
const { server, setup } = setupSyncTestServer({ seed: 7 });

beforeEach(() => {
  // Node 20 has no navigator: the worker's view of the network (up), and no Web Locks.
  vi.stubGlobal('navigator', { onLine: true });
  vi.spyOn(console, 'info').mockImplementation(() => undefined);
});
afterEach(() => {
  vi.unstubAllGlobals();
  vi.restoreAllMocks();
});

const workerOn = (dbName: string, eventBudgetMs?: number) =>
  createWorkerSync({
    streamTypes,
    schemaVersion: SCHEMA_VERSION,
    endpoint: BASE_URL,
    backend: Promise.resolve(null),
    channelName: 'test-sync',
    dbName,
    ...(eventBudgetMs === undefined ? {} : { eventBudgetMs }),
  });

const busy = () =>
  HttpResponse.json(
    { error: { code: 'unavailable', message: 'Busy' } },
    { status: 503, headers: { 'Retry-After': '1' } },
  );

describe('the worker flush on plain IndexedDB', () => {
  it("delivers a page's orders, applies the server's decisions and the page's Dexie reads them", async () => {
    const { client, backend } = setup();
    const orderId = await client.draftOrder(['SKU-1', 'SKU-2']);
    await client.run({ type: 'PlaceOrder', orderId });

    const report = await workerOn(client.db.name).flush({ force: true });

    expect(report).toMatchObject({ sent: 4, delivered: 4, dead: 0, outcome: 'drained' });
    const sent = await client.db.events.where('streamId').equals(`order-${orderId}`).sortBy('position');
    await expectServerStream(
      backend.storage,
      orderId,
      sent.filter((event) => event.kind === 'client').map((event) => event.eventId),
    );
    expect(await client.outbox()).toEqual([]);
    expect(await orderSummary(client.db, orderId)).toMatchObject({
      status: 'confirmed',
      syncState: 'delivered',
    });
  });

  it('finds no database, reports nothing to do and creates none; flushes once a page has made it', async () => {
    const { client } = setup();
    const sync = workerOn(client.db.name);

    expect(await sync.flush()).toEqual({
      sent: 0,
      delivered: 0,
      dead: 0,
      retrying: 0,
      pulled: 0,
      outcome: 'idle',
      nextAttemptAt: null,
    });
    expect(await sync.flushForBackgroundSync()).toMatchObject({ outcome: 'idle' });
    expect((await indexedDB.databases()).map((info) => info.name)).not.toContain(client.db.name);
    expect(console.info).toHaveBeenCalledWith(expect.stringMatching(/not flushing: No database/));

    const orderId = await client.draftOrder(['SKU-1']);
    expect(await sync.flush()).toMatchObject({ sent: 2, delivered: 2, outcome: 'drained' });
    expect(await orderSummary(client.db, orderId)).toMatchObject({ syncState: 'delivered' });
  });

  it('inside one sync event, keeps retrying on the Retry-After it was given until the outbox is drained', async () => {
    const { client, backend } = setup();
    const orderId = await client.draftOrder(['SKU-1']);
    await client.run({ type: 'PlaceOrder', orderId });
    let refusals = 2;
    server.use(
      http.post(`${BASE_URL}/push`, () => {
        if (refusals === 0) return undefined;
        refusals -= 1;
        return busy();
      }),
    );
    const started = Date.now();
    // Resolving is what tells the browser the sync succeeded: no retry of its own (minutes later) is needed.
    const report = await workerOn(client.db.name).flushForBackgroundSync();
    expect(report).toMatchObject({ outcome: 'drained', delivered: 3 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(2_000);
    expect(await client.outbox()).toEqual([]);
    expect((await backend.storage.read((r) => r.stats())).eventsStored).toBe(3);
  });

  it('fails the sync event only after spending its budget with entries still waiting', async () => {
    const { client } = setup();
    await client.draftOrder(['SKU-1']);
    server.use(http.post(`${BASE_URL}/push`, busy));
    await expect(workerOn(client.db.name, 2_500).flushForBackgroundSync()).rejects.toThrow(
      /the browser will retry this sync/,
    );
    // Each refusal was recorded; the entries stay, untouched but for their attempts.
    const rows = await client.outbox();
    expect(rows).toHaveLength(2);
    expect(rows.every((row) => row.status === 'pending' && row.attempts >= 2)).toBe(true);
  });
});
