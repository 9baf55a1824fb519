import { describe, expect, it } from 'vitest';
import { refreshDelivery } from '../../../src/outbox/device/read-models/projections';
import { retryDeadLetter } from '../../../src/outbox/device/sync/dead-letters';
import type { DeliveryRow } from '../../../src/outbox/storage/rows';
import { seededRandom, setupSyncTestServer } from './harness';

/**
 * A drain recomputes a stream's delivery from the rows at or above the lanes it sent, not from every row
 * of the stream. After any mix of deliveries, retries and dead letters, the delivery rows it leaves must be
 * exactly what a full recomputation from all outbox rows gives.
 */

const sync = setupSyncTestServer({ seed: 11 });

const summaries = async (db: ReturnType<typeof sync.setup>['client']['db']): Promise<DeliveryRow[]> =>
  db.deliveries.orderBy('streamId').toArray();

describe('delivery rows after a drain', () => {
  for (const seed of [1, 2, 3, 4]) {
    it(`matches a full refreshDelivery over random batches and failures (seed ${seed})`, async () => {
      const random = seededRandom(seed);
      const pick = (n: number) => Math.floor(random() * n);
      const { client, backend, clock } = sync.setup({ seed, backendSeed: seed });
      const engine = client.engine({
        random,
        policy: { batchSize: 1 + pick(12), maxAttempts: 2, baseDelayMs: 10, maxDelayMs: 20 },
      });
      const orders: string[] = [];
      const states = new Set<string>();
      for (let round = 0; round < 12; round += 1) {
        // New orders and more lines on existing drafts, so lanes start at different versions each round.
        for (let n = pick(3); n >= 0; n -= 1)
          orders.push(await client.draftOrder(['A', 'B'].slice(0, 1 + pick(2))));
        for (let n = pick(4); n > 0; n -= 1) {
          const orderId = orders[pick(orders.length)];
          await client.execute({
            type: 'AddProduct',
            orderId,
            sku: `S-${round}-${n}`,
            name: 'Extra',
            quantity: 1,
            unitPrice: 100,
          });
        }
        backend.faults.set({ failureRate: [0, 0.3, 0.6][pick(3)] ?? 0, failureKinds: ['500'] });
        if (random() < 0.3) {
          const dead = await client.db.outbox.filter((row) => row.status === 'dead').first();
          if (dead) await retryDeadLetter(client.db, dead.eventId);
        }
        clock.advance(1_000);
        await engine.flush({ force: true });

        const afterDrain = await summaries(client.db);
        // Start from nothing, so the full recomputation cannot lean on what the drain wrote.
        await client.db.deliveries.clear();
        await client.db.transaction('rw', ['outbox', 'streams', 'deliveries'], async () => {
          await refreshDelivery(
            client.db,
            afterDrain.map((delivery) => delivery.streamId),
          );
        });
        expect(afterDrain).toEqual(await summaries(client.db));
        for (const delivery of afterDrain) states.add(delivery.state);
      }
      // The rounds went through more than the happy path.
      expect(states.size).toBeGreaterThan(1);
    });
  }
});
