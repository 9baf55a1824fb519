import type { OrderDetail, OrderSummary, OutpostDb, StreamRow } from '../../src/outbox/client/db';
import { rebuildReadModels } from '../../src/outbox/client/rebuild';
import { freshDb, seedProduct } from './setups';

/**
 * Replaying the whole event store into fresh read models. The baseline does the same paged read and writes
 * the same final rows (captured from the product beforehand) in one transaction, without folding anything.
 */
const PAGE = 500;

interface RebuildState {
  db: OutpostDb;
  events: number;
  streams: Map<string, StreamRow>;
  summaries: Map<string, OrderSummary>;
  details: Map<string, OrderDetail>;
}

let state: RebuildState | null = null;

export async function rebuildSetup({ events }: { events: number }): Promise<{ events: number }> {
  const db = await freshDb('rebuild', 'strict');
  await seedProduct(db, Math.ceil(events / 20), 20);
  const [streams, summaries, details] = await Promise.all([
    db.streams.toArray(),
    db.orderSummaries.toArray(),
    db.orderDetails.toArray(),
  ]);
  state = {
    db,
    events: await db.events.count(),
    streams: new Map(streams.map((row) => [row.streamId, row])),
    summaries: new Map(summaries.map((row) => [`order-${row.orderId}`, row])),
    details: new Map(details.map((row) => [`order-${row.orderId}`, row])),
  };
  return { events: state.events };
}

export async function rebuildRound({
  variant,
}: {
  variant: 'outpost' | 'raw';
}): Promise<{ count: number; ms: number }> {
  const current = state;
  if (!current) throw new Error('rebuildSetup was not run');
  const { db } = current;
  const start = performance.now();
  if (variant === 'outpost') {
    await rebuildReadModels(db, PAGE);
  } else {
    await db.transaction('rw', [db.events, db.streams, db.orderSummaries, db.orderDetails], async () => {
      await Promise.all([db.streams.clear(), db.orderSummaries.clear(), db.orderDetails.clear()]);
      let after = 0;
      for (;;) {
        const page = await db.events.where('position').above(after).limit(PAGE).toArray();
        const last = page.at(-1);
        if (last?.position === undefined) break;
        const touched = [...new Set(page.map((event) => event.streamId))];
        const pick = <T>(rows: Map<string, T>): T[] =>
          touched.map((streamId) => rows.get(streamId)).filter((row): row is T => row !== undefined);
        await Promise.all([
          db.streams.bulkPut(pick(current.streams)),
          db.orderSummaries.bulkPut(pick(current.summaries)),
          db.orderDetails.bulkPut(pick(current.details)),
        ]);
        after = last.position;
      }
    });
  }
  const ms = performance.now() - start;
  const orders = await db.orderSummaries.count();
  if (orders !== current.summaries.size)
    throw new Error(`rebuild left ${orders} of ${current.summaries.size} orders`);
  return { count: current.events, ms };
}
