import type { Transaction } from 'dexie';
import type { SyncTables } from '../storage/sync-db';
import type { StreamTypes } from '../stream-types';
import type { OutpostDb } from './db';
import { projectEvents, readModelTableNames } from './projections';

const PAGE_SIZE = 500;

/** The tables a rebuild writes: snapshots, delivery facts and every stream type's read models. */
const rebuiltTables = (types: StreamTypes): string[] => [
  'streams',
  'deliveries',
  ...readModelTableNames(types),
];

/**
 * Throws the read models away and replays the whole event store into them, in position order and in bounded
 * pages so memory stays flat however long the history is. Call inside a transaction over the core tables
 * and every read-model table: nobody ever sees half a rebuild, and a failure leaves the old tables in place.
 */
export async function rebuildWithin(db: SyncTables, types: StreamTypes, pageSize = PAGE_SIZE): Promise<void> {
  for (const table of rebuiltTables(types)) await clear(db, table);
  let after = 0;
  for (;;) {
    const page = await db.events
      .where('position')
      .between(after, Number.POSITIVE_INFINITY, false)
      .limit(pageSize)
      .toArray();
    const last = page.at(-1);
    if (last?.position === undefined) break;
    // projectEvents also reads each touched stream's outbox rows, so delivery facts come back too.
    await projectEvents(db, types, page);
    after = last.position;
  }
}

function clear(db: SyncTables, table: string): Promise<void> {
  return (
    table === 'streams' ? db.streams : table === 'deliveries' ? db.deliveries : db.table(table)
  ).clear();
}

/** `rebuildWithin` in a transaction of its own. */
export async function rebuildReadModels(db: OutpostDb, pageSize = PAGE_SIZE): Promise<void> {
  // An async scope, not a function returning a promise: Dexie keeps its transaction across native awaits
  // only inside a scope it can see is async.
  await db.transaction('rw', ['events', 'outbox', 'leases', ...rebuiltTables(db.streamTypes)], async () => {
    await rebuildWithin(db, db.streamTypes, pageSize);
  });
}

/** The core's tables and the read models through a Dexie upgrade transaction, for a layout change. */
export function upgradeTables(tx: Transaction): SyncTables {
  const table = (name: string) => tx.table(name);
  return {
    events: table('events'),
    outbox: table('outbox'),
    leases: table('leases'),
    streams: table('streams'),
    commands: table('commands'),
    deliveries: table('deliveries'),
    meta: table('meta'),
    table,
  } as unknown as SyncTables;
}
