import { rebuildReadModels } from '../../src/outbox/device/read-models/rebuild';
import type { OutpostDb } from '../../src/outbox/page/database';
import { freshDb, seedProduct } from './setups';

/**
 * Replaying the whole event store into fresh read models. The baseline does the same paged read and writes
 * the same final rows (captured from the product beforehand) in one transaction, without folding anything.
 */
const PAGE = 500;

/** What a rebuild writes: snapshots, delivery facts and the orders' read models, all keyed by stream. */
const REBUILT = ['streams', 'deliveries', 'orders', 'orderLines'] as const;

interface RebuildState {
  db: OutpostDb;
  events: number;
  /** By table, each row by the stream it belongs to. */
  rows: Map<string, Map<string, unknown>>;
}

let state: RebuildState | null = null;

const streamOf = (table: string, row: { streamId?: string; id?: string }): string =>
  table === 'streams' || table === 'deliveries' ? (row.streamId ?? '') : `order-${row.id ?? ''}`;

export async function rebuildSetup({ events }: { events: number }): Promise<{ events: number }> {
  const db = await freshDb('rebuild', 'strict');
  await seedProduct(db, Math.ceil(events / 20), 20);
  const rows = new Map<string, Map<string, unknown>>();
  for (const table of REBUILT) {
    const all = (await db.table(table).toArray()) as { streamId?: string; id?: string }[];
    rows.set(table, new Map(all.map((row) => [streamOf(table, row), row])));
  }
  state = { db, events: await db.events.count(), rows };
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
    await db.transaction('rw', ['events', ...REBUILT], async () => {
      await Promise.all(REBUILT.map((table) => db.table(table).clear()));
      let after = 0;
      for (;;) {
        const page = await db.events.where('position').above(after).limit(PAGE).toArray();
        const last = page.at(-1);
        if (last?.position === undefined) break;
        const touched = [...new Set(page.map((event) => event.streamId))];
        await Promise.all(
          REBUILT.map((table) => {
            const byStream = current.rows.get(table) ?? new Map<string, unknown>();
            const picked = touched
              .map((streamId) => byStream.get(streamId))
              .filter((row) => row !== undefined);
            return db.table(table).bulkPut(picked);
          }),
        );
        after = last.position;
      }
    });
  }
  const ms = performance.now() - start;
  const orders = await db.table('orders').count();
  const expected = current.rows.get('orders')?.size ?? 0;
  if (orders !== expected) throw new Error(`rebuild left ${orders} of ${expected} orders`);
  return { count: current.events, ms };
}
