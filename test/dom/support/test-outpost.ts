import { BehaviorSubject, of } from 'rxjs';
import { vi } from 'vitest';
import type { Outpost } from '../../../src/app/outpost';
import { openAppDb } from '../../../src/app/schema';
import { streamIdOf } from '../../../src/orders/stream-ids';
import { createCommandPipeline } from '../../../src/outbox/client/command-pipeline';
import type { OutpostDb } from '../../../src/outbox/client/db';
import { EventBus } from '../../../src/outbox/client/event-bus';
import { refreshDelivery } from '../../../src/outbox/client/projections';
import { ManualClock, uuidv7Generator } from '../../../src/outbox/ids';
import { discardDeadLetter, retryDeadLetter } from '../../../src/outbox/sync/dead-letters';
import { applyAnswer, claimBatch } from '../../../src/outbox/sync/outbox-store';
import { defaultRetryPolicy } from '../../../src/outbox/sync/retry-policy';
import { liveSyncFacts, liveSyncStatus } from '../../../src/outbox/sync/status';
import { orderSummaries } from '../../support/order-rows';

/**
 * An Outpost over a fresh fake-indexeddb database with the real command handler, read models, sync status
 * and dead-letter operations. Only the network side is a double: `syncNow` records its calls.
 */
export interface TestOutpost extends Outpost {
  readonly clock: ManualClock;
  readonly syncNow: ReturnType<typeof vi.fn<() => Promise<void>>>;
  readonly ids: () => string;
  readonly online$: BehaviorSubject<boolean>;
}

export function createTestOutpost(): TestOutpost {
  const db = openAppDb({ name: `dom-${crypto.randomUUID()}` });
  const clock = new ManualClock();
  const ids = uuidv7Generator(clock);
  const clientId = ids();
  const bus = new EventBus();
  const handler = createCommandPipeline({ db, clock, ids, clientId, bus });
  const online$ = new BehaviorSubject(true);
  return {
    db,
    bus,
    clientId,
    clock,
    ids,
    online$,
    execute: (request) => handler.execute(request),
    syncNow: vi.fn(async () => {}),
    status$: liveSyncStatus(liveSyncFacts(db), clock, online$),
    syncMode: 'fallback',
    endpoint: 'http://127.0.0.1:4173/api/sync',
    storage$: of({ usage: 2_500_000, quota: 1_000_000_000, persisted: true }),
    update$: of(false),
    applyUpdate: vi.fn(),
    async retryDeadLetter(eventId) {
      const result = await retryDeadLetter(db, eventId);
      if (!result.ok) throw result.error;
    },
    async discardDeadLetter(eventId, reason) {
      const result = await discardDeadLetter(db, { eventId, reason, clock, ids, bus });
      if (!result.ok) throw result.error;
    },
    async exportBackup() {
      const [events, outbox] = await Promise.all([
        db.events.orderBy('position').toArray(),
        db.outbox.orderBy('position').toArray(),
      ]);
      return new Blob([JSON.stringify({ clientId, events, outbox })], { type: 'application/json' });
    },
    demo: null,
  };
}

/** Creates an order with the given products through the real command handler; returns its id. */
export async function seedOrder(
  outpost: TestOutpost,
  customerName: string,
  products: readonly { sku: string; name: string; unitPrice: number; quantity: number }[] = [],
): Promise<string> {
  const orderId = outpost.ids();
  const created = await outpost.execute({
    command: { type: 'CreateOrder', orderId, customerName, currency: 'EUR' },
  });
  if (!created.ok) throw created.error;
  for (const product of products) {
    const added = await outpost.execute({ command: { type: 'AddProduct', orderId, ...product } });
    if (!added.ok) throw added.error;
  }
  return orderId;
}

/** What the sync engine does when the server refuses an entry: the row goes dead with the server's word. */
export async function killEntry(db: OutpostDb, orderId: string, version: number, lastError: string) {
  const streamId = streamIdOf(orderId);
  await db.transaction('rw', ['outbox', 'streams', 'deliveries'], async () => {
    const row = await db.outbox.where('[streamId+version]').equals([streamId, version]).first();
    if (!row) throw new Error(`no outbox row for ${streamId} v${version}`);
    await db.outbox.put({ ...row, status: 'dead', attempts: 1, deadCode: 'rejected:invalid', lastError });
    await refreshDelivery(db, [streamId]);
  });
}

/**
 * What the sync engine does around one push, with its own claim and apply transactions: every pending entry
 * is leased as one batch (in flight while the request hangs); `deliver()` then records the server's
 * `accepted` for all of them.
 */
export async function sendEverything(outpost: TestOutpost): Promise<{ deliver(): Promise<void> }> {
  const { db, clock } = outpost;
  const ownerId = 'dom-flusher';
  const claim = await claimBatch(db, {
    ownerId,
    batchId: outpost.ids(),
    now: clock.now(),
    policy: defaultRetryPolicy,
    limit: 100,
    byteBudget: 1_000_000,
    exclude: new Set(),
    ignoreBackoff: false,
  });
  return {
    async deliver() {
      await applyAnswer(db, db.streamTypes, {
        ownerId,
        batchId: claim.batchId,
        now: clock.now(),
        policy: defaultRetryPolicy,
        random: () => 0.5,
        entries: claim.entries,
        verdicts: claim.entries.map(() => ({ kind: 'delivered' }) as const),
        serverEvents: [],
        meta: {},
      });
    },
  };
}

/** Everything a command could have written, to prove a refused one wrote nothing. */
export async function snapshot(db: OutpostDb) {
  const [events, outbox, summaries, commands] = await Promise.all([
    db.events.count(),
    db.outbox.count(),
    orderSummaries(db),
    db.commands.count(),
  ]);
  return { events, outbox, summaries, commands };
}
