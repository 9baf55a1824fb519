import Dexie, { type Transaction } from 'dexie';
import type { DeferredStreamTypes, StreamTypes } from '../outbox';
import { DB_NAME, type OpenOutboxDbOptions, type OutpostDb, openOutboxDb } from '../outbox/page';
import { deferredPlugins } from '../plugin-layouts';
import { SCHEMA_VERSION } from './schema-version';

/**
 * The app's database: the outbox core's tables and its stream types' read models, at `SCHEMA_VERSION`, and
 * every layout an earlier release shipped, so an installed app upgrades any database it finds without losing
 * an event or an outbox row (test/unit/store-migration.test.ts opens each).
 */
export const SCHEMA_HISTORY: OpenOutboxDbOptions['history'] = [
  {
    version: 1,
    stores: {
      events: '++position, &eventId, &[streamId+version], streamId',
      outbox: '&eventId, position, [status+position], streamId, [streamId+version]',
      streams: '&streamId',
      commands: '&commandId',
      orderSummaries: '&orderId, status, syncState, updatedAt, customerKey',
      orderDetails: '&orderId',
      meta: '&key',
    },
  },
  {
    // In-flight rows are named by lease records instead of rewritten, delivered rows are deleted. Nothing
    // undelivered is lost: in-flight rows become pending (the leases that held them are gone, exactly as if
    // they had expired: the server answers a resend `duplicate`), dead and pending rows stay as they are.
    version: 2,
    stores: { leases: '&batchId' },
    upgrade: async (tx: Transaction) => {
      const outbox = tx.table('outbox');
      await outbox
        .where('[status+position]')
        .between(['delivered', Dexie.minKey], ['delivered', Dexie.maxKey])
        .delete();
      await outbox.toCollection().modify((row: Record<string, unknown>) => {
        if (row.status === 'inflight') row.status = 'pending';
        delete row.leaseOwner;
        delete row.leaseUntil;
        delete row.deliveredAt;
      });
    },
  },
  // Version 3 only reshaped the order summaries, which version 4 replaces and rebuilds from the events.
  { version: 3, stores: {} },
];

/**
 * Version 4, the aggregate-agnostic core: read models belong to stream types (orders: `orders` and
 * `orderLines`; stock counts: `stockCounts` and `stockCountLines`, all keyed by `id`), delivery facts to the
 * core (`deliveries`), the snapshots stay. The order tables of versions 1 to 3 go.
 */
const RETIRED_IN_V4 = ['orderSummaries', 'orderDetails'];

/**
 * Version 5, history-independent commands: the order's analytics and the list's totals become counter rows
 * of the order's read models (`orderCounts`, `orderDays`, `orderRevenue`, `orderPlacements`,
 * `orderDecisions`, and `orders` gains `[status+customerKey]`), rebuilt from the events like every read
 * model after an upgrade. Only new tables and an index, so version 4 needs no entry in the history; the
 * analytics subscriber's one `meta` row (a map entry per order ever created) goes.
 */
const RETIRED_META_IN_V5 = ['analytics'];

/*
 * Version 6, retention: the core's `archive` table holds a tombstone per archived stream
 * (src/outbox/device/read-models/retention.ts), and the stock counts list's totals become counter rows
 * (`stockCountCounts`), rebuilt from the events. New tables only, so version 5 needs no entry in the history.
 */

/*
 * Version 7, copies of orders: `orders` gains a `copiedFrom` index, so an order's screen finds the orders
 * copied from it. An index only, rebuilt from the events like every read model after an upgrade.
 */

export interface OpenAppDbOptions {
  readonly name?: string;
  /**
   * The app's plug-ins; by default their tables now and their code when first needed (`deferredPlugins`),
   * which keeps them out of the first screen's JavaScript. Tools and tests that run commands at once pass
   * `streamTypes` from src/plugins.ts.
   */
  readonly streamTypes?: StreamTypes | DeferredStreamTypes;
  readonly durability?: OpenOutboxDbOptions['durability'];
  /** Where a rebuild the upgrade owes stands, while it runs (`OpenOutboxDbOptions.onRebuild`). */
  readonly onRebuild?: OpenOutboxDbOptions['onRebuild'];
  readonly indexedDB?: IDBFactory;
  readonly IDBKeyRange?: typeof IDBKeyRange;
}

export function openAppDb(options: OpenAppDbOptions = {}): OutpostDb {
  return openOutboxDb({
    name: options.name ?? DB_NAME,
    streamTypes: options.streamTypes ?? deferredPlugins,
    version: SCHEMA_VERSION,
    history: SCHEMA_HISTORY,
    retired: RETIRED_IN_V4,
    retiredMeta: RETIRED_META_IN_V5,
    ...(options.durability ? { durability: options.durability } : {}),
    ...(options.onRebuild ? { onRebuild: options.onRebuild } : {}),
    ...(options.indexedDB ? { indexedDB: options.indexedDB } : {}),
    ...(options.IDBKeyRange ? { IDBKeyRange: options.IDBKeyRange } : {}),
  });
}
