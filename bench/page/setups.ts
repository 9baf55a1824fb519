import { importCommands } from '../../src/outbox/client/bulk-import';
import { type OutpostDb, openDb } from '../../src/outbox/client/db';
import { EventBus } from '../../src/outbox/client/event-bus';
import type { GroupCommitDeps } from '../../src/outbox/client/group-commit';
import { systemClock } from '../../src/outbox/ids';
import { type Durability, deleteDatabase, writeWithDexie } from './baselines';
import { type CommandRows, clientId, ids, type RowFactory, seedCommands } from './fixtures';

/** Open databases by bench key, so a setup survives between the rounds node drives one call at a time. */
const open = new Map<string, { db: OutpostDb; idb?: IDBDatabase }>();

export const dbName = (key: string): string => `bench-${key}`;

/** A fresh, empty database for `key` (the previous one of that key is closed and deleted). */
export async function freshDb(key: string, durability: Durability): Promise<OutpostDb> {
  await dropDb(key);
  const db = openDb({ name: dbName(key), durability });
  await db.open();
  open.set(key, { db });
  return db;
}

export function openedDb(key: string): OutpostDb {
  const current = open.get(key);
  if (!current) throw new Error(`no open database ${key}`);
  return current.db;
}

export async function dropDb(key: string): Promise<void> {
  const current = open.get(key);
  if (current) {
    current.db.close();
    current.idb?.close();
    open.delete(key);
  }
  await deleteDatabase(dbName(key));
}

export function rememberIdb(key: string, idb: IDBDatabase): void {
  const current = open.get(key);
  if (current) current.idb = idb;
}

/** What both the command handler and the group committer take, with nothing injected for tests. */
export function productDeps(db: OutpostDb): Omit<GroupCommitDeps, 'faults' | 'maxGroupSize'> {
  return { db, clock: systemClock, ids, clientId, bus: new EventBus() };
}

/** Seeds through the product itself (bulk import), so every row is exactly what Outpost would hold. */
export async function seedProduct(db: OutpostDb, orders: number, eventsPerOrder: number): Promise<string[]> {
  const { orderIds, commands } = seedCommands(orders, eventsPerOrder);
  const results = await importCommands(
    productDeps(db),
    commands.map((command) => ({ command })),
    { chunkSize: 2000 },
  );
  const failed = results.find((result) => !result.ok);
  if (failed && !failed.ok) throw new Error(`seeding failed: ${failed.error.message}`);
  return orderIds;
}

/**
 * Seeds rows of the product's shape without the product (for the baselines and for large backlogs); a
 * stream's snapshot, summary and detail are written once per chunk, as the product's group writes do.
 */
export async function seedRows(
  db: OutpostDb,
  factory: RowFactory,
  orders: number,
  eventsPerOrder: number,
): Promise<string[]> {
  const orderIds: string[] = [];
  let chunk: CommandRows[] = [];
  for (let n = 0; n < orders; n += 1) {
    const orderId = ids();
    orderIds.push(orderId);
    for (let e = 0; e < eventsPerOrder; e += 1) {
      chunk.push(factory.next(orderId, n));
      if (chunk.length >= 2000) {
        await writeWithDexie(db, chunk, { lastRowPerStream: true });
        chunk = [];
      }
    }
  }
  if (chunk.length > 0) await writeWithDexie(db, chunk, { lastRowPerStream: true });
  return orderIds;
}
