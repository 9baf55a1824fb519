import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { rebuildReadModels } from '../../../src/outbox/device/read-models/rebuild';
import type { StoredServerEvent } from '../../../src/outbox/storage/rows';
import type { StockCountCommand } from '../../../src/stockcount/domain/commands';
import type { StockCountStatus } from '../../../src/stockcount/domain/stock-count';
import { readStockCounts } from '../../../src/stockcount/page/count-list';
import type { StockCountSummary } from '../../../src/stockcount/read-models';
import { streamIdOf } from '../../../src/stockcount/stream-ids';
import { applyServerEvents, discardFrom, makeStore, type Store } from '../store/fixtures';

/**
 * The stock counts list's totals are counter rows kept by the projections (issue 14: the list used to count
 * its whole table after every write). After a random session, discards and server decisions included, they
 * equal what a scan of the list's table counts, for every filter, and a rebuild writes the same rows.
 */

const COUNTS = 5;
const STATUSES: readonly (StockCountStatus | undefined)[] = [
  undefined,
  'counting',
  'submitted',
  'accepted',
  'rejected',
  'abandoned',
];

const count = fc.nat(COUNTS - 1);
const step = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('start' as const), count }) },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('record' as const),
      count,
      sku: fc.constantFrom('TEA-GRN-100', 'MLK-OAT-1L'),
      quantity: fc.nat(30),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('submit' as const), count }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('abandon' as const), count }) },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant('server' as const), count, accept: fc.boolean() }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('discard' as const), count, offset: fc.nat(2) }) },
);
type Step = typeof step extends fc.Arbitrary<infer T> ? T : never;

function commandOf(s: Step, countId: string): StockCountCommand | null {
  switch (s.kind) {
    case 'start':
      return { type: 'StartCount', countId, location: 'WH-01' };
    case 'record':
      return { type: 'RecordQuantity', countId, sku: s.sku, quantity: s.quantity };
    case 'submit':
      return { type: 'SubmitCount', countId };
    case 'abandon':
      return { type: 'AbandonCount', countId, reason: 'Shelf being moved' };
    default:
      return null;
  }
}

let serverSeq = 0;

async function run(store: Store, countIds: readonly string[], s: Step): Promise<void> {
  const { db, clock, ids, handler } = store;
  const countId = countIds[s.count] ?? '';
  const streamId = streamIdOf(countId);
  const at = new Date(clock.now()).toISOString();
  clock.advance(1_000);
  const command = commandOf(s, countId);
  if (command) {
    await handler.execute({ command });
    return;
  }
  if (s.kind === 'server') {
    serverSeq += 1;
    const base = {
      kind: 'server',
      eventId: ids(),
      streamId,
      serverSeq,
      schemaVersion: 1,
      occurredAt: at,
    } as const;
    const event: StoredServerEvent = s.accept
      ? {
          ...base,
          type: 'CountAccepted',
          data: { countNumber: `SC-${String(serverSeq).padStart(6, '0')}`, acceptedAt: at },
        }
      : {
          ...base,
          type: 'CountRejected',
          data: { code: 'variance', reason: 'Off by more than 10 %', skus: [] },
        };
    await applyServerEvents(db, [event]);
  } else if (s.kind === 'discard') {
    const undelivered = await db.outbox.where('streamId').equals(streamId).sortBy('version');
    const from = undelivered[0];
    if (from) await discardFrom(db, streamId, from.version + s.offset, 'Given up', at, ids);
  }
}

const countTables = async (store: Store) => ({
  stockCounts: await store.db.table('stockCounts').toArray(),
  stockCountCounts: await store.db.table('stockCountCounts').toArray(),
});

let store: Store | undefined;
afterEach(() => store?.db.close());

describe('the stock counts list after a random session', () => {
  it('totals what a scan counts for every filter, and a rebuild writes the same rows', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 10, maxLength: 60 }), async (steps) => {
        store?.db.close();
        store = makeStore();
        const s = store;
        const countIds = Array.from({ length: COUNTS }, () => s.ids());
        for (const next of steps) await run(s, countIds, next);
        const all = await s.db.table<StockCountSummary, string>('stockCounts').toArray();
        for (const status of STATUSES) {
          const page = await readStockCounts(
            s.db,
            { ...(status ? { status } : {}), limit: 3 },
            s.clock.now(),
          );
          expect(page.total).toBe(all.filter((row) => status === undefined || row.status === status).length);
          expect(page.rows.length).toBe(Math.min(3, page.total));
        }
        const inline = await countTables(s);
        await rebuildReadModels(s.db, 4);
        expect(await countTables(s)).toEqual(inline);
      }),
      { seed: 20261204, numRuns: 40 },
    );
  }, 120_000);
});
