import * as v from 'valibot';
import { EventBus } from '../../src/outbox/device/event-bus';
import { FEED_EVENTS, FIRST_HISTORY_STREAMS, HISTORY_STREAMS } from '../../src/outbox/device/sync/catch-up';
import { createSyncEngine } from '../../src/outbox/device/sync/engine';
import { syncStorage } from '../../src/outbox/device/sync/sync-storage';
import { systemClock, uuidv7Generator } from '../../src/outbox/ids';
import { FeedPageSchema, HistoryPageSchema } from '../../src/outbox/protocol/feed';
import { streamTypes } from '../../src/plugins';
import { deleteDatabase } from './baselines';
import { dbName, dropDb, freshDb } from './setups';

/**
 * A new device catching up with a shop (issue 22): the real sync engine reading the feed's history and then
 * the feed into an empty database, every page stored in one transaction with its read models (the product);
 * against the same pages fetched and bulk-written by raw IndexedDB, one transaction per page putting each
 * event into an event store and nothing else (the floor).
 */

const api = `${location.origin}/api/sync`;

export async function catchUpRound({
  variant,
}: {
  variant: 'outpost' | 'raw';
}): Promise<{ count: number; ms: number }> {
  return variant === 'outpost' ? outpostRound() : rawRound();
}

let rounds = 0;

async function outpostRound(): Promise<{ count: number; ms: number }> {
  // A database of its own each round: the engine's last transactions may still hold the previous one open.
  rounds += 1;
  const key = `catch-up-${rounds}`;
  const db = await freshDb(key, 'strict');
  const ids = uuidv7Generator(systemClock);
  const engine = createSyncEngine({
    storage: syncStorage(db),
    streamTypes,
    transport: (input, init) => fetch(input, init),
    clock: systemClock,
    ids,
    clientId: ids(),
    baseUrl: api,
    bus: new EventBus(),
    feed: true,
    userAgent: navigator.userAgent,
  });
  const start = performance.now();
  await engine.pull();
  const ms = performance.now() - start;
  const count = await db.events.count();
  db.close();
  // Best effort: the profile is thrown away after the run anyway.
  await dropDb(key).catch(() => undefined);
  return { count, ms };
}

const RAW = dbName('catch-up-raw');

function openRaw(): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(RAW, 1);
    request.onupgradeneeded = () => {
      request.result.createObjectStore('events', { keyPath: 'position', autoIncrement: true });
    };
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

/** One rw transaction that adds each event as it came: what the product's store costs at the least. */
function bulkWrite(db: IDBDatabase, events: readonly unknown[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const tx = db.transaction('events', 'readwrite', { durability: 'strict' });
    const store = tx.objectStore('events');
    for (const event of events) store.add(event);
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
  });
}

async function getJson<S extends v.GenericSchema>(url: string, schema: S): Promise<v.InferOutput<S>> {
  const response = await fetch(url, { headers: { Accept: 'application/json' } });
  if (!response.ok) throw new Error(`GET ${url} answered ${response.status}`);
  return v.parse(schema, await response.json());
}

async function rawRound(): Promise<{ count: number; ms: number }> {
  await deleteDatabase(RAW);
  const db = await openRaw();
  const clientId = crypto.randomUUID();
  let count = 0;
  const start = performance.now();
  // The same requests the engine makes: the history's pages, newest first, then the feed from its head.
  let head: string | null = null;
  let before: string | null = null;
  for (let page = 0; ; page += 1) {
    const limit = page === 0 ? FIRST_HISTORY_STREAMS : HISTORY_STREAMS;
    const query: string = `clientId=${clientId}&limit=${limit}${head ? `&head=${encodeURIComponent(head)}` : ''}${
      before ? `&before=${encodeURIComponent(before)}` : ''
    }`;
    const history: v.InferOutput<typeof HistoryPageSchema> = await getJson(
      `${api}/feed/history?${query}`,
      HistoryPageSchema,
    );
    await bulkWrite(db, history.events);
    count += history.events.length;
    head = history.head;
    before = history.before;
    if (before === null) break;
  }
  let cursor = head ?? '0';
  for (;;) {
    const feed = await getJson(
      `${api}/feed?clientId=${clientId}&since=${encodeURIComponent(cursor)}&limit=${FEED_EVENTS}`,
      FeedPageSchema,
    );
    if (feed.events.length > 0) await bulkWrite(db, feed.events);
    count += feed.events.length;
    cursor = feed.cursor;
    if (!feed.hasMore) break;
  }
  const ms = performance.now() - start;
  db.close();
  await deleteDatabase(RAW);
  return { count, ms };
}
