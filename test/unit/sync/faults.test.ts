import { HttpResponse, http } from 'msw';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { streamIdOf } from '../../../src/orders/stream-ids';
import { listDeadLetters } from '../../../src/outbox/device/sync/dead-letters';
import { readSyncMeta } from '../../../src/outbox/device/sync/sync-meta';
import { type FaultSettings, NO_FAULTS } from '../../../src/outbox/mock/faults';
import { orderSummary } from '../../support/order-rows';
import {
  BASE_URL,
  type ClientSide,
  expectServerStream,
  loggingTransport,
  type PushLogEntry,
  serverOrderState,
  setupSyncTestServer,
} from './harness';

/** One test per fault the mock backend can inject: what the engine does, and that nothing is lost. */

const sync = setupSyncTestServer({ seed: 3 });
const { server } = sync;
afterEach(() => {
  vi.useRealTimers();
});

function setup(options: { faults?: Partial<FaultSettings>; token?: string; random?: () => number } = {}) {
  const { clock, client, backend } = sync.setup({
    ...(options.faults ? { faults: options.faults } : {}),
    ...(options.token ? { token: options.token } : {}),
  });
  const log: PushLogEntry[] = [];
  const engine = client.engine({
    transport: loggingTransport(fetch, log),
    ...(options.random ? { random: options.random } : {}),
  });
  const stats = () => backend.storage.read((reader) => reader.stats());
  return { clock, client, backend, engine, log, stats, server };
}

async function placedOrder(client: ClientSide): Promise<string> {
  const orderId = await client.draftOrder(['SKU-1', 'SKU-2']);
  await client.run({ type: 'PlaceOrder', orderId });
  return orderId;
}

/** Each client event's delivery state as the order's timeline shows it (delivered: its row is gone). */
const statuses = (client: ClientSide) => client.deliveries();

/** After the fault clears and the backoff passes, everything arrives exactly once and in order. */
async function expectRecovery(ctx: ReturnType<typeof setup>, orderId: string) {
  ctx.backend.faults.set(NO_FAULTS);
  const report = await ctx.engine.flush({ force: true });
  expect(['drained', 'idle']).toContain(report.outcome);
  expect(await statuses(ctx.client)).toEqual(['delivered', 'delivered', 'delivered', 'delivered']);
  expect(await ctx.client.outbox()).toEqual([]);
  const eventIds = (await ctx.client.db.events.orderBy('position').toArray())
    .filter((event) => event.kind === 'client')
    .map((event) => event.eventId);
  await expectServerStream(ctx.backend.storage, orderId, eventIds);
  expect((await orderSummary(ctx.client.db, orderId))?.orderNumber).toMatch(/^SO-\d{6}$/);
  const meta = await readSyncMeta(ctx.client.db);
  expect(meta).toMatchObject({ lastError: null, nextAttemptAt: null, authRequired: false });
  expect(meta.lastSuccessAt).not.toBeNull();
}

describe('transient faults keep every entry and retry with backoff', () => {
  it('offline: reports offline, keeps the entries pending with a backoff, then delivers', async () => {
    const ctx = setup({ faults: { offline: true } });
    const orderId = await placedOrder(ctx.client);
    const report = await ctx.engine.flush();
    expect(report).toMatchObject({ sent: 4, delivered: 0, retrying: 4, outcome: 'offline' });
    expect(report.nextAttemptAt).toBeGreaterThan(ctx.clock.now());
    expect(await statuses(ctx.client)).toEqual(['pending', 'pending', 'pending', 'pending']);
    // The answer counted the attempt; the batch's lease is gone with it.
    expect((await ctx.client.outbox())[0]).toMatchObject({ attempts: 1 });
    expect(await ctx.client.db.leases.count()).toBe(0);
    expect((await readSyncMeta(ctx.client.db)).lastError).toMatch(/Could not reach/);
    // Not "sending": nothing holds it now; it is saved here and says when it goes again.
    expect(await orderSummary(ctx.client.db, orderId)).toMatchObject({
      syncState: 'retrying',
      retryAt: report.nextAttemptAt,
    });
    expect((await ctx.stats()).eventsStored).toBe(0);
    await expectRecovery(ctx, orderId);
  });

  it('an engine told the device is offline sends nothing at all', async () => {
    const ctx = setup();
    await placedOrder(ctx.client);
    const engine = ctx.client.engine({ online: () => false, transport: loggingTransport(fetch, ctx.log) });
    expect(await engine.flush()).toMatchObject({ sent: 0, outcome: 'offline' });
    expect(ctx.log).toHaveLength(0);
    expect(await statuses(ctx.client)).toEqual(['pending', 'pending', 'pending', 'pending']);
  });

  it('latency: a slow answer is still applied once', async () => {
    const ctx = setup({ faults: { latencyMs: 40 } });
    const orderId = await placedOrder(ctx.client);
    expect(await ctx.engine.flush()).toMatchObject({ delivered: 4, outcome: 'drained' });
    await expectRecovery(ctx, orderId);
  });

  it('500: transient; no flush sends before the backoff unless forced', async () => {
    const ctx = setup({ faults: { failureRate: 1, failureKinds: ['500'] } });
    const orderId = await placedOrder(ctx.client);
    const report = await ctx.engine.flush();
    expect(report).toMatchObject({ retrying: 4, outcome: 'transient-failure' });
    expect((await readSyncMeta(ctx.client.db)).lastError).toMatch(/Server failed \(internal/);
    // A second engine (another tab) honours the same persisted backoff.
    const otherTab = ctx.client.engine({ transport: loggingTransport(fetch, ctx.log) });
    expect(await otherTab.flush()).toMatchObject({ sent: 0, outcome: 'transient-failure' });
    expect(ctx.log).toHaveLength(1);
    ctx.backend.faults.set(NO_FAULTS);
    ctx.clock.set(report.nextAttemptAt ?? 0);
    expect(await ctx.engine.flush()).toMatchObject({ delivered: 4 });
    await expectRecovery(ctx, orderId);
  });

  it('503 with Retry-After: waits at least that long even when the jitter says 0', async () => {
    const ctx = setup({
      faults: { failureRate: 1, failureKinds: ['503'], retryAfterSeconds: 120 },
      random: () => 0,
    });
    const orderId = await placedOrder(ctx.client);
    const start = ctx.clock.now();
    const report = await ctx.engine.flush();
    expect(report.outcome).toBe('transient-failure');
    expect(report.nextAttemptAt).toBe(start + 120_000);
    ctx.backend.faults.set(NO_FAULTS);
    ctx.clock.set(start + 119_999);
    expect(await ctx.engine.flush()).toMatchObject({ sent: 0 });
    ctx.clock.set(start + 120_000);
    expect(await ctx.engine.flush()).toMatchObject({ delivered: 4 });
    await expectRecovery(ctx, orderId);
  });

  it('429 with Retry-After: the whole outbox waits, not only the batch that got it', async () => {
    const ctx = setup({ faults: { rateLimit: { retryAfterSeconds: 30 } }, random: () => 0 });
    const orderId = await placedOrder(ctx.client);
    const start = ctx.clock.now();
    const report = await ctx.engine.flush();
    expect(report).toMatchObject({ outcome: 'transient-failure', nextAttemptAt: start + 30_000 });
    // New work written meanwhile must not slip past the server's request to wait.
    await ctx.client.draftOrder(['SKU-5']);
    ctx.clock.set(start + 29_000);
    expect(await ctx.engine.flush()).toMatchObject({ sent: 0 });
    expect(ctx.log).toHaveLength(1);
    ctx.backend.faults.set(NO_FAULTS);
    ctx.clock.set(start + 30_000);
    expect(await ctx.engine.flush()).toMatchObject({ delivered: 6, outcome: 'drained' });
    expect((await orderSummary(ctx.client.db, orderId))?.status).toBe('confirmed');
  });

  it('network error: transient, reported as offline', async () => {
    const ctx = setup({ faults: { failureRate: 1, failureKinds: ['network'] } });
    const orderId = await placedOrder(ctx.client);
    expect(await ctx.engine.flush()).toMatchObject({ retrying: 4, outcome: 'offline' });
    expect((await ctx.stats()).eventsStored).toBe(0);
    await expectRecovery(ctx, orderId);
  });

  it('server unreachable: probes /health every 2 s instead of waiting out the backoff, and sends once it answers', async () => {
    // A backoff long enough that only a probe can end it in this test.
    const ctx = setup({ faults: { offline: true }, random: () => 0.999 });
    const orderId = await placedOrder(ctx.client);
    for (let i = 0; i < 4; i += 1) await ctx.engine.flush({ force: true });
    const gate = (await readSyncMeta(ctx.client.db)).nextAttemptAt ?? 0;
    expect(gate - ctx.clock.now()).toBeGreaterThan(5_000);
    expect((await readSyncMeta(ctx.client.db)).unreachableSince).toBe(ctx.clock.now());
    let probes = 0;
    ctx.server.use(
      http.get(`${BASE_URL}/health`, () => {
        probes += 1;
        return undefined;
      }),
    );

    // Before the next probe is due, a flush asks nothing at all and names the probe as its next attempt.
    ctx.clock.advance(1_000);
    expect(await ctx.engine.flush()).toMatchObject({
      sent: 0,
      outcome: 'offline',
      nextAttemptAt: ctx.clock.now() + 1_000,
    });
    expect(probes).toBe(0);
    // Still down: one probe, nothing sent, no attempt counted, the next probe 2 s on.
    ctx.clock.advance(1_000);
    expect(await ctx.engine.flush()).toMatchObject({ sent: 0, nextAttemptAt: ctx.clock.now() + 2_000 });
    expect(probes).toBe(1);
    expect((await ctx.client.outbox()).map((row) => row.attempts)).toEqual([4, 4, 4, 4]);

    // The server is back well before the backoff ends: the next probe finds it, and everything goes.
    ctx.backend.faults.set(NO_FAULTS);
    ctx.clock.advance(2_000);
    expect(ctx.clock.now()).toBeLessThan(gate);
    expect(await ctx.engine.flush()).toMatchObject({ delivered: 4, outcome: 'drained' });
    expect(probes).toBe(2);
    expect(await readSyncMeta(ctx.client.db)).toMatchObject({ unreachableSince: null, nextAttemptAt: null });
    expect((await orderSummary(ctx.client.db, orderId))?.orderNumber).toMatch(/^SO-\d{6}$/);
  });

  it('a server that answers is reachable: a 503 gate is waited out, never probed around', async () => {
    const ctx = setup({ faults: { failureRate: 1, failureKinds: ['503'], retryAfterSeconds: 30 } });
    await placedOrder(ctx.client);
    await ctx.engine.flush();
    expect((await readSyncMeta(ctx.client.db)).unreachableSince).toBeNull();
    ctx.clock.advance(5_000);
    expect(await ctx.engine.flush()).toMatchObject({ sent: 0, outcome: 'transient-failure' });
    expect(ctx.log).toHaveLength(1);
  });

  it('timeout: abandons the request after 15 s and retries', async () => {
    const ctx = setup({ faults: { failureRate: 1, failureKinds: ['timeout'] } });
    const orderId = await placedOrder(ctx.client);
    // Only the engine's deadline timer is faked; IndexedDB and the command handler keep real scheduling.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    let settled = false;
    const flushing = ctx.engine.flush().then((report) => {
      settled = true;
      return report;
    });
    // The deadline timer is armed just before the request leaves: wait (on real IndexedDB scheduling) for it.
    while (ctx.log.length === 0) await new Promise((resolve) => setImmediate(resolve));
    await vi.advanceTimersByTimeAsync(14_999);
    expect(settled).toBe(false);
    expect(await statuses(ctx.client)).toEqual(['inflight', 'inflight', 'inflight', 'inflight']);
    await vi.advanceTimersByTimeAsync(1);
    const report = await flushing;
    expect(report).toMatchObject({ retrying: 4, outcome: 'transient-failure' });
    expect((await readSyncMeta(ctx.client.db)).lastError).toMatch(/within 15 s/);
    vi.useRealTimers();
    await expectRecovery(ctx, orderId);
  });

  it('captive portal (200 with an HTML page): never trusted, transient', async () => {
    const ctx = setup({ faults: { captivePortal: true } });
    const orderId = await placedOrder(ctx.client);
    expect(await ctx.engine.flush()).toMatchObject({
      delivered: 0,
      retrying: 4,
      outcome: 'transient-failure',
    });
    expect(await statuses(ctx.client)).toEqual(['pending', 'pending', 'pending', 'pending']);
    expect((await readSyncMeta(ctx.client.db)).lastError).toMatch(/not JSON/);
    await expectRecovery(ctx, orderId);
  });
});

describe('ack lost', () => {
  it('the server stores each event exactly once; the client marks them delivered on the duplicate answer', async () => {
    const ctx = setup({ faults: { ackLossRate: 1 } });
    const orderId = await placedOrder(ctx.client);
    expect(await ctx.engine.flush()).toMatchObject({ delivered: 0, retrying: 4 });
    expect(await ctx.stats()).toMatchObject({ eventsStored: 4, serverEventsByType: { OrderConfirmed: 1 } });
    // The confirmation was in the lost answer: locally the order is only placed.
    expect((await orderSummary(ctx.client.db, orderId))?.status).toBe('placed');

    ctx.backend.faults.set(NO_FAULTS);
    const report = await ctx.engine.flush({ force: true });
    expect(report).toMatchObject({ delivered: 4, pulled: 1 });
    const lastPush = ctx.log.at(-1);
    expect(lastPush?.results?.map((result) => result.status)).toEqual([
      'duplicate',
      'duplicate',
      'duplicate',
      'duplicate',
    ]);
    expect(await ctx.stats()).toMatchObject({
      eventsStored: 4,
      duplicatesAnswered: 4,
      serverEventsByType: { OrderConfirmed: 1 },
    });
    // The duplicate answer carries no server events: the confirmation arrives by pull.
    expect(await orderSummary(ctx.client.db, orderId)).toMatchObject({
      status: 'confirmed',
      orderNumber: 'SO-000001',
      syncState: 'delivered',
    });
    await expectRecovery(ctx, orderId);
  });
});

describe('auth', () => {
  it('401: pauses in auth-required for every context, keeps everything, resumes after sign-in', async () => {
    const ctx = setup({ token: 'fresh-token' });
    const orderId = await placedOrder(ctx.client);
    const engine = ctx.client.engine({ token: 'expired-token', transport: loggingTransport(fetch, ctx.log) });
    expect(await engine.flush()).toMatchObject({ sent: 4, delivered: 0, outcome: 'auth-required' });
    const rows = await ctx.client.outbox();
    expect(rows.map((row) => [row.status, row.attempts, row.nextAttemptAt])).toEqual(
      rows.map(() => ['pending', 0, 0]),
    );
    expect(await readSyncMeta(ctx.client.db)).toMatchObject({ authRequired: true });
    // Neither this engine nor another one on the database keeps knocking.
    expect(await engine.flush({ force: true })).toMatchObject({ sent: 0, outcome: 'auth-required' });
    expect(await ctx.engine.flush()).toMatchObject({ sent: 0, outcome: 'auth-required' });
    expect(ctx.log).toHaveLength(1);

    await engine.resumeAfterSignIn('fresh-token');
    expect(await engine.flush()).toMatchObject({ delivered: 4, outcome: 'drained' });
    expect((await readSyncMeta(ctx.client.db)).authRequired).toBe(false);
    expect((await orderSummary(ctx.client.db, orderId))?.status).toBe('confirmed');
  });

  it('403 from the server pauses the same way', async () => {
    const ctx = setup();
    await placedOrder(ctx.client);
    ctx.server.use(
      http.post(`${BASE_URL}/push`, () =>
        HttpResponse.json({ error: { code: 'forbidden', message: 'token refused' } }, { status: 403 }),
      ),
    );
    expect(await ctx.engine.flush()).toMatchObject({ delivered: 0, dead: 0, outcome: 'auth-required' });
    expect(await statuses(ctx.client)).toEqual(['pending', 'pending', 'pending', 'pending']);
    expect((await readSyncMeta(ctx.client.db)).lastError).toMatch(/token refused/);
  });

  it('the mock 401 fault: same pause, cleared by resumeAfterSignIn', async () => {
    const ctx = setup({ faults: { unauthorized: true } });
    const orderId = await placedOrder(ctx.client);
    expect(await ctx.engine.flush()).toMatchObject({ outcome: 'auth-required' });
    expect((await readSyncMeta(ctx.client.db)).lastError).toMatch(/Sign-in needed/);
    ctx.backend.faults.set(NO_FAULTS);
    await ctx.engine.resumeAfterSignIn();
    await expectRecovery(ctx, orderId);
  });
});

describe('413', () => {
  it('splits the batch and resends until it fits; each event stored once', async () => {
    const ctx = setup({ faults: { maxBodyBytes: 2_000 } });
    const orders = [await placedOrder(ctx.client), await placedOrder(ctx.client)];
    const report = await ctx.engine.flush();
    expect(report).toMatchObject({ delivered: 8, dead: 0, outcome: 'drained' });
    expect(report.sent).toBeGreaterThan(8);
    expect(ctx.log[0]?.events).toHaveLength(8);
    expect(await statuses(ctx.client)).toEqual(Array(8).fill('delivered'));
    for (const orderId of orders) {
      const events = await ctx.client.db.events
        .where('streamId')
        .equals(streamIdOf(orderId))
        .sortBy('position');
      await expectServerStream(
        ctx.backend.storage,
        orderId,
        events.filter((event) => event.kind === 'client').map((event) => event.eventId),
      );
    }
  });

  it('a single event over the limit becomes a dead letter and holds back only its stream', async () => {
    const ctx = setup();
    const orderId = await placedOrder(ctx.client);
    ctx.backend.faults.set({ maxBodyBytes: 200 });
    const report = await ctx.engine.flush();
    expect(report).toMatchObject({ delivered: 0, dead: 1, outcome: 'drained' });
    const dead = await listDeadLetters(ctx.client.db);
    expect(dead).toMatchObject([{ streamType: 'order', id: orderId, version: 1, deadCode: 'too_large' }]);
    expect(await statuses(ctx.client)).toEqual(['dead', 'pending', 'pending', 'pending']);
    expect((await orderSummary(ctx.client.db, orderId))?.syncState).toBe('attention');
  });
});

describe('offline edits racing the server', () => {
  it('an order cancelled offline after the server confirmed it ends cancelled on both sides', async () => {
    const ctx = setup({ faults: { ackLossRate: 1 } });
    const orderId = await placedOrder(ctx.client);
    // The server confirms the order, but the answer is lost: the device still thinks it is only placed.
    await ctx.engine.flush();
    expect((await serverOrderState(ctx.backend.storage, ctx.client.clientId, orderId)).status).toBe(
      'confirmed',
    );

    ctx.backend.faults.set({ ackLossRate: 0, offline: true });
    await ctx.client.run({ type: 'CancelOrder', orderId, reason: 'Customer called back' });
    expect(await ctx.engine.flush({ force: true })).toMatchObject({ outcome: 'offline' });
    expect((await orderSummary(ctx.client.db, orderId))?.status).toBe('cancelled');

    ctx.backend.faults.set(NO_FAULTS);
    expect(await ctx.engine.flush({ force: true })).toMatchObject({ delivered: 5, pulled: 1 });
    const local = await orderSummary(ctx.client.db, orderId);
    const remote = await serverOrderState(ctx.backend.storage, ctx.client.clientId, orderId);
    expect(remote.status).toBe('cancelled');
    expect(local).toMatchObject({ status: 'cancelled', orderNumber: 'SO-000001', syncState: 'delivered' });
    expect(remote.status !== 'none' && remote.orderNumber).toBe('SO-000001');
    expect(local?.cancellationReason).toBe('Customer called back');
  });
});
