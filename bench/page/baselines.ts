import type { OutpostDb } from '../../src/outbox/page/database';
import type { CommandRows } from './fixtures';

/**
 * The baselines: the same rows written with no decisions and no reads, first through Dexie, then through
 * IndexedDB itself (the physical limit of this browser and disk).
 */

export type Durability = 'strict' | 'relaxed';

const WRITE_TABLES = [
  'events',
  'outbox',
  'commands',
  'streams',
  'deliveries',
  'orders',
  'orderLines',
] as const;

/**
 * One Dexie rw transaction storing the rows of `batch` commands. With `lastRowPerStream`, a stream touched
 * several times in the batch gets its snapshot, delivery and read-model rows written once, as a group write does.
 */
export async function writeWithDexie(
  db: OutpostDb,
  batch: readonly CommandRows[],
  options: { readonly lastRowPerStream?: boolean } = {},
): Promise<void> {
  const perStream = options.lastRowPerStream ? lastPerStream(batch) : batch;
  await db.transaction('rw', [...WRITE_TABLES], async () => {
    const positions = await db.events.bulkAdd(
      batch.map((rows) => rows.event),
      { allKeys: true },
    );
    await Promise.all([
      db.outbox.bulkAdd(batch.map((rows, i) => ({ ...rows.outbox, position: positions[i] ?? 0 }))),
      db.commands.bulkAdd(batch.map((rows) => rows.command)),
      db.streams.bulkPut(perStream.map((rows) => rows.stream)),
      db.deliveries.bulkPut(perStream.map((rows) => rows.delivery)),
      db.table('orders').bulkPut(perStream.map((rows) => rows.summary)),
      db.table('orderLines').bulkPut(perStream.map((rows) => rows.lines)),
    ]);
  });
}

export function lastPerStream(batch: readonly CommandRows[]): CommandRows[] {
  const last = new Map<string, CommandRows>();
  for (const rows of batch) last.set(rows.event.streamId, rows);
  return [...last.values()];
}

/** Same rows, same schema (Dexie created it), plain IndexedDB requests in one transaction. */
export function writeWithIndexedDb(
  idb: IDBDatabase,
  batch: readonly CommandRows[],
  durability: Durability,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const tx = idb.transaction([...WRITE_TABLES], 'readwrite', { durability });
    const events = tx.objectStore('events');
    const outbox = tx.objectStore('outbox');
    const commands = tx.objectStore('commands');
    const streams = tx.objectStore('streams');
    const deliveries = tx.objectStore('deliveries');
    const summaries = tx.objectStore('orders');
    const lines = tx.objectStore('orderLines');
    for (const rows of batch) {
      const added = events.add(rows.event);
      added.onsuccess = () => {
        outbox.add({ ...rows.outbox, position: added.result });
      };
      commands.add(rows.command);
      streams.put(rows.stream);
      deliveries.put(rows.delivery);
      summaries.put(rows.summary);
      lines.put(rows.lines);
    }
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error ?? new Error('transaction aborted'));
  });
}

export function openIndexedDb(name: string): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(name);
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

export function deleteDatabase(name: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const request = indexedDB.deleteDatabase(name);
    request.onsuccess = () => resolve();
    request.onerror = () => reject(request.error);
    request.onblocked = () => reject(new Error(`deleting ${name} is blocked by an open connection`));
  });
}
