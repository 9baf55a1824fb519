import { openAppDb } from '../../src/app/schema';
import type { CommandResult } from '../../src/outbox/device/commands/command-pipeline';
import { EventBus } from '../../src/outbox/device/event-bus';
import { systemClock } from '../../src/outbox/ids';
import type { OutpostDb } from '../../src/outbox/page/database';
import { createPageCommandPipeline, type PageCommandDeps } from '../../src/outbox/page/page-commands';
import { streamTypes } from '../../src/plugins';
import { type Durability, deleteDatabase, writeWithDexie } from './baselines';
import { type CommandRows, clientId, ids, type RowFactory, seedCommands } from './fixtures';

/** Open databases by bench key, so a setup survives between the rounds node drives one call at a time. */
const open = new Map<string, { db: OutpostDb; idb?: IDBDatabase }>();

export const dbName = (key: string): string => `bench-${key}`;

/** A fresh, empty database for `key` (the previous one of that key is closed and deleted). */
export async function freshDb(key: string, durability: Durability): Promise<OutpostDb> {
  await dropDb(key);
  const db = openAppDb({ name: dbName(key), durability, streamTypes });
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

/** What the command pipeline takes, with nothing injected for tests. */
export function productDeps(db: OutpostDb): PageCommandDeps {
  return { db, clock: systemClock, ids, clientId, bus: new EventBus() };
}

/**
 * Issues `commands` through one pipeline `chunkSize` at a time, each chunk at once so it commits as one
 * group: how an import of many commands goes through Outpost.
 */
export async function executeInChunks(
  deps: PageCommandDeps,
  commands: readonly unknown[],
  chunkSize: number,
): Promise<void> {
  const pipeline = createPageCommandPipeline({ ...deps, maxGroupSize: chunkSize });
  for (let start = 0; start < commands.length; start += chunkSize) {
    const chunk = commands.slice(start, start + chunkSize);
    const results: CommandResult[] = await Promise.all(chunk.map((command) => pipeline.execute({ command })));
    const failed = results.find((result) => !result.ok);
    if (failed && !failed.ok) throw new Error(`a command was refused: ${failed.error.message}`);
  }
}

/** Seeds through the product itself, so every row is exactly what Outpost would hold. */
export async function seedProduct(db: OutpostDb, orders: number, eventsPerOrder: number): Promise<string[]> {
  const { orderIds, commands } = seedCommands(orders, eventsPerOrder);
  await executeInChunks(productDeps(db), commands, 2000);
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
