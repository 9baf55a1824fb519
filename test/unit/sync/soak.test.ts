import { expect, it } from 'vitest';
import type { OrderStatus } from '../../../src/orders/domain/order';
import { streamIdOf } from '../../../src/orders/stream-ids';
import type { FlushReport } from '../../../src/outbox/device/sync/engine';
import { NO_FAULTS } from '../../../src/outbox/mock/faults';
import { orderSummary } from '../../support/order-rows';
import {
  laneBreaches,
  loggingTransport,
  type PushLogEntry,
  seededRandom,
  serverOrderState,
  setupSyncTestServer,
} from './harness';

/**
 * A long, seeded run against a misbehaving server: commands and flushes interleaved, two engines on one
 * database, 30% transport failures, lost acknowledgements and offline spells. Replay a failure with
 * SOAK_SEED=<seed printed on failure>.
 */

const seed = Number(process.env.SOAK_SEED ?? 20_261_126);
const ORDERS = 50;
const COMMANDS = 1_000;
const SKUS = ['SKU-1', 'SKU-2', 'SKU-3', 'SKU-4', 'SKU-5', 'SKU-6'];

const { setup } = setupSyncTestServer({ seed });

interface Tracked {
  readonly orderId: string;
  status: OrderStatus;
  lines: string[];
  readonly discontinued: boolean;
}

it(`delivers every event exactly once and in order, and both sides agree (seed ${seed})`, {
  timeout: 60_000,
}, async () => {
  const random = seededRandom(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  const faults = {
    failureRate: 0.3,
    failureKinds: ['500', '503', 'network', 'timeout'] as ('500' | '503' | 'network' | 'timeout')[],
    retryAfterSeconds: 2,
    ackLossRate: 0.1,
  };
  const { clock, client, backend } = setup({ faults, backendSeed: seed ^ 0x9e37 });
  const log: PushLogEntry[] = [];
  const transport = loggingTransport(fetch, log);
  // A page and the service worker flushing the same database; timeouts short in real time.
  const engines = ['page', 'worker'].map((ownerId) =>
    client.engine({
      ownerId,
      transport,
      random,
      policy: {
        batchSize: 1 + Math.floor(random() * 40),
        requestTimeoutMs: 25,
        baseDelayMs: 500,
        maxDelayMs: 20_000,
      },
    }),
  );
  const orders: Tracked[] = [];
  const outcomes = new Map<FlushReport['outcome'], number>();
  let executed = 0;
  let refused = 0;
  let offlineFor = 0;

  const execute = async (command: Record<string, unknown>, order: Tracked) => {
    const result = await client.execute(command);
    if (!result.ok) {
      refused += 1;
      return;
    }
    executed += 1;
    const summary = await orderSummary(client.db, order.orderId);
    if (summary) order.status = summary.status;
  };

  const flushSome = async () => {
    const chosen = random() < 0.25 ? engines : [pick(engines)];
    const reports = await Promise.all(chosen.map((engine) => engine.flush({ force: random() < 0.2 })));
    for (const report of reports) outcomes.set(report.outcome, (outcomes.get(report.outcome) ?? 0) + 1);
  };

  try {
    for (let step = 0; executed < COMMANDS; step += 1) {
      if (step > 20 * COMMANDS) throw new Error(`Stuck after ${executed} commands`);
      if (orders.length < ORDERS && (orders.length < 5 || random() < 0.08)) {
        const order: Tracked = {
          orderId: client.ids(),
          status: 'draft',
          lines: [],
          discontinued: random() < 0.2,
        };
        orders.push(order);
        await execute(
          {
            type: 'CreateOrder',
            orderId: order.orderId,
            customerName: `Customer ${orders.length}`,
            currency: 'EUR',
          },
          order,
        );
      } else {
        const drafts = orders.filter((candidate) => candidate.status === 'draft');
        const order = drafts.length > 0 && random() < 0.9 ? pick(drafts) : pick(orders);
        // Orders mostly grow in the first half of the run and get placed or cancelled in the second.
        // A few drafts always stay open, so the run can always reach its command count.
        const closing = drafts.length <= 3 ? 0 : executed < COMMANDS * 0.6 ? 0.01 : 0.08;
        const roll = random();
        if (order.status === 'draft') {
          if (roll < 0.5 || order.lines.length === 0) {
            const sku = order.discontinued && random() < 0.3 ? 'DISC-9' : pick(SKUS);
            const existing = order.lines.includes(sku);
            await execute(
              {
                type: 'AddProduct',
                orderId: order.orderId,
                sku,
                name: `Product ${sku}`,
                quantity: 1 + Math.floor(random() * 5),
                unitPrice: existing ? 1_000 : 1_000,
              },
              order,
            );
            if (!existing) order.lines.push(sku);
          } else if (roll < 0.65) {
            const sku = pick(order.lines);
            await execute(
              { type: 'ChangeQuantity', orderId: order.orderId, sku, quantity: 1 + Math.floor(random() * 9) },
              order,
            );
          } else if (roll < 0.75) {
            const sku = pick(order.lines);
            await execute({ type: 'RemoveProduct', orderId: order.orderId, sku }, order);
            order.lines = order.lines.filter((line) => line !== sku);
          } else if (roll < 0.75 + closing) {
            await execute({ type: 'PlaceOrder', orderId: order.orderId }, order);
          } else if (roll < 0.76 + closing) {
            await execute(
              { type: 'CancelOrder', orderId: order.orderId, reason: 'Changed their mind' },
              order,
            );
          } else {
            await execute(
              {
                type: 'AddProduct',
                orderId: order.orderId,
                sku: 'SKU-7',
                name: 'Extra',
                quantity: 1,
                unitPrice: 50,
              },
              order,
            );
            if (!order.lines.includes('SKU-7')) order.lines.push('SKU-7');
          }
        } else if (order.status !== 'cancelled' && roll < 0.05) {
          await execute(
            { type: 'CancelOrder', orderId: order.orderId, reason: 'Cancelled after placing' },
            order,
          );
        }
      }

      if (random() < 0.12) {
        if (offlineFor > 0) {
          offlineFor -= 1;
          if (offlineFor === 0) backend.faults.set({ offline: false });
        } else if (random() < 0.1) {
          offlineFor = 1 + Math.floor(random() * 5);
          backend.faults.set({ offline: true });
        }
        clock.advance(Math.floor(random() * 8_000));
        await flushSome();
      }
    }

    // The network heals: keep flushing until nothing is left to send.
    backend.faults.set(NO_FAULTS);
    for (let round = 0; round < 100; round += 1) {
      clock.advance(20_000);
      await flushSome();
      const open = await client.db.outbox.where('status').equals('pending').count();
      if (open === 0) break;
    }
    await engines[0]?.pull();

    expect(executed).toBeGreaterThanOrEqual(COMMANDS);
    expect(orders).toHaveLength(ORDERS);
    // Every row was delivered, so every row is gone, and no lease is left behind.
    expect(await client.outbox()).toEqual([]);
    expect(await client.db.leases.count()).toBe(0);
    expect(laneBreaches(log)).toEqual([]);

    const stats = await backend.storage.read((reader) => reader.stats());
    const clientEvents = (await client.db.events.toArray()).filter((event) => event.kind === 'client');
    expect(stats.eventsStored).toBe(clientEvents.length);
    expect(new Set(await client.deliveries())).toEqual(new Set(['delivered']));

    const statuses = new Map<string, number>();
    for (const order of orders) {
      const streamId = streamIdOf(order.orderId);
      const local = clientEvents
        .filter((event) => event.streamId === streamId)
        .sort((a, b) => a.version - b.version)
        .map((event) => event.eventId);
      const stored = await backend.storage.read(
        async (reader) => (await reader.streams([streamId])).get(streamId)?.events ?? [],
      );
      expect(
        stored.map((event) => event.eventId),
        `stream ${streamId}`,
      ).toEqual(local);
      expect(stored.map((event) => event.version)).toEqual(local.map((_, index) => index + 1));

      const remote = await serverOrderState(backend.storage, client.clientId, order.orderId);
      const summary = await orderSummary(client.db, order.orderId);
      expect(remote.status).not.toBe('none');
      if (remote.status === 'none') continue;
      expect(
        { status: summary?.status, orderNumber: summary?.orderNumber, syncState: summary?.syncState },
        order.orderId,
      ).toEqual({
        status: remote.status,
        orderNumber: remote.orderNumber,
        syncState: 'delivered',
      });
      statuses.set(remote.status, (statuses.get(remote.status) ?? 0) + 1);
    }
    // The run must have exercised what it claims to.
    expect(statuses.get('confirmed') ?? 0).toBeGreaterThan(0);
    expect(statuses.get('rejected') ?? 0).toBeGreaterThan(0);
    expect(statuses.get('cancelled') ?? 0).toBeGreaterThan(0);
    expect(stats.duplicatesAnswered).toBeGreaterThan(0);
    expect(outcomes.get('transient-failure') ?? 0).toBeGreaterThan(0);
    expect(outcomes.get('offline') ?? 0).toBeGreaterThan(0);
    console.info(
      `soak seed ${seed}: ${executed} commands (${refused} refused by the domain), ${clientEvents.length} events, ${log.length} pushes,`,
      `${stats.duplicatesAnswered} duplicates answered, outcomes ${JSON.stringify(Object.fromEntries(outcomes))},`,
      `orders ${JSON.stringify(Object.fromEntries(statuses))}`,
    );
  } catch (error) {
    console.error(`Soak failed: replay with SOAK_SEED=${seed}`);
    throw error;
  }
});
