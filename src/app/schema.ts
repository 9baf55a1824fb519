import Dexie, { type Transaction } from 'dexie';
import { DB_NAME, type OpenOutboxDbOptions, type OutpostDb, openOutboxDb } from '../outbox/client/db';
import { rebuildWithin, upgradeTables } from '../outbox/client/rebuild';
import { streamTypes } from '../plugins';
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

export interface OpenAppDbOptions {
  readonly name?: string;
  readonly durability?: OpenOutboxDbOptions['durability'];
  readonly indexedDB?: IDBFactory;
  readonly IDBKeyRange?: typeof IDBKeyRange;
}

export function openAppDb(options: OpenAppDbOptions = {}): OutpostDb {
  return openOutboxDb({
    name: options.name ?? DB_NAME,
    streamTypes,
    version: SCHEMA_VERSION,
    history: SCHEMA_HISTORY,
    retired: RETIRED_IN_V4,
    // Read models are folds of the event store and the outbox, so an upgrade from any earlier layout rebuilds
    // them with this build's stream types, at this layout, where every table they write exists. Nothing else
    // is touched: no event, outbox row, lease, handled command or client id. A one-time replay per layout
    // change (docs/performance.md, the rebuild figure, gives its rate).
    // An async scope: Dexie keeps the upgrade's transaction across native awaits only in one it sees is async.
    upgrade: async (tx) => {
      await rebuildWithin(upgradeTables(tx), streamTypes);
    },
    ...(options.durability ? { durability: options.durability } : {}),
    ...(options.indexedDB ? { indexedDB: options.indexedDB } : {}),
    ...(options.IDBKeyRange ? { IDBKeyRange: options.IDBKeyRange } : {}),
  });
}
