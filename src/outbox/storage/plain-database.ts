import type { StreamTypes } from '../stream-types';
import { maxKey, minKey, type OutboxDatabase, type OutboxRecords } from './outbox-database';
import { broadcastStorageMutated, type ChangeNotifier } from './storage-mutated';

/**
 * The outbox's database on plain IndexedDB, for the service worker: the same database Dexie opens in the
 * pages, read and written through the same indexes, without Dexie's ~31 kB. Each record is one kind of
 * IndexedDB request on the transaction (`getAll` over a range, `get` per key, `count`), nothing more.
 *
 * It never creates or upgrades the database: it opens it without a version, aborts the open if the database
 * does not exist yet, and refuses one whose schema is not the one it was built for (a page of the right
 * version upgrades it). It closes its connection on `versionchange`, so it never blocks a page's upgrade,
 * and reopens on next use.
 *
 * A transaction stays active across the promise reactions between its requests (as it does in every current
 * browser and in fake-indexeddb) and ends when the work awaits anything else, as with Dexie.
 */

export type DatabaseUnavailableCode = 'no_database' | 'schema_outdated' | 'schema_newer';

/** The database cannot be flushed by this build; nothing was written. */
export class DatabaseUnavailableError extends Error {
  override readonly name = 'DatabaseUnavailableError';
  constructor(
    readonly code: DatabaseUnavailableCode,
    message: string,
  ) {
    super(message);
  }
}

export interface PlainDatabaseOptions {
  readonly name: string;
  /** The app's stream types: their read models are projected in the outbox's transactions. */
  readonly streamTypes: StreamTypes;
  /** The Dexie `version()` this build's code expects; Dexie stores it as IndexedDB version × 10. */
  readonly schemaVersion: number;
  readonly durability?: IDBTransactionDurability;
  /** For tests: another IndexedDB factory and key range (fake-indexeddb). */
  readonly indexedDB?: IDBFactory;
  readonly IDBKeyRange?: typeof IDBKeyRange;
  /** Tells other contexts' Dexie of each committed write; defaults to Dexie's BroadcastChannel. */
  readonly notify?: ChangeNotifier;
  /**
   * The connection was dropped: a page upgrades the database, or the browser deleted it (the site's data
   * was cleared). What was read from it before (the clientId) may no longer be true.
   */
  readonly onConnectionLost?: () => void;
}

export interface PlainOutboxDatabase extends OutboxDatabase {
  /** Closes the connection; the next transaction opens it again. */
  close(): void;
}

function request<R>(req: IDBRequest<R>): Promise<R> {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = (event) => {
      // As in Dexie: a failed request the work catches does not abort the transaction; one it does not
      // catch rejects the work, which aborts it.
      event.preventDefault();
      reject(req.error);
    };
  });
}

/** Every request at once, one round trip: the transaction stays active until the last has answered. */
const requests = <R>(reqs: readonly IDBRequest<R>[]): Promise<R[]> => Promise.all(reqs.map(request));

const done = (): void => undefined;

/** Resolves when the transaction commits, rejects when it aborts. */
function settled(tx: IDBTransaction): Promise<void> {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onabort = () => reject(tx.error ?? new DOMException('The transaction was aborted', 'AbortError'));
  });
}

function quietly(action: () => void): void {
  try {
    action();
  } catch {
    // Already finished or aborted: nothing left to end.
  }
}

/** Table name → its index names, for each table a transaction wrote (the change notice names them all). */
type Touched = Map<string, readonly string[]>;

/** The records of one transaction, each a request on its stores. */
function plainRecords(tx: IDBTransaction, KeyRange: typeof IDBKeyRange, touched: Touched): OutboxRecords {
  const store = (name: string) => tx.objectStore(name);
  const writing = (name: string) => {
    const written = tx.objectStore(name);
    if (!touched.has(name)) touched.set(name, [...written.indexNames]);
    return written;
  };
  /** Every key of one part of a compound index: `[part, anything]`. */
  const withFirst = (part: string) => KeyRange.bound([part, minKey], [part, maxKey]);
  const byStatus = () => store('outbox').index('[status+position]');
  const inclusive = (from: number, to: number) => (from > to ? null : KeyRange.bound(from, to));
  const getEach = <T>(name: string, keys: readonly IDBValidKey[]): Promise<(T | undefined)[]> =>
    requests(keys.map((key) => store(name).get(key)));
  const putEach = (name: string, rows: readonly unknown[]) =>
    requests(rows.map((row) => writing(name).put(row))).then(done);
  const addEach = (name: string, rows: readonly unknown[]) =>
    requests(rows.map((row) => writing(name).add(row))).then(done);
  const deleteEach = (name: string, keys: readonly IDBValidKey[]) =>
    requests(keys.map((key) => writing(name).delete(key))).then(done);

  return {
    pendingRows: (from, inclusiveFrom, limit) =>
      request(
        byStatus().getAll(
          KeyRange.bound(['pending', from ?? minKey], ['pending', maxKey], !inclusiveFrom),
          limit,
        ),
      ),
    rowsWithStatus: (status) => request(byStatus().getAll(withFirst(status))),
    countRows: (status) => request(byStatus().count(withFirst(status))),
    outboxRows: (eventIds) => getEach('outbox', eventIds),
    outboxRowsBetween: (from, to) => {
      const range = inclusive(from, to);
      return range ? request(store('outbox').index('position').getAll(range)) : Promise.resolve([]);
    },
    streamRows: (streamId) => request(store('outbox').index('streamId').getAll(KeyRange.only(streamId))),
    streamRowsFrom: (streamId, version) =>
      request(
        store('outbox')
          .index('[streamId+version]')
          .getAll(KeyRange.bound([streamId, version], [streamId, maxKey])),
      ),
    addOutboxRows: (rows) => addEach('outbox', rows),
    putOutboxRows: (rows) => putEach('outbox', rows),
    deleteOutboxRows: (eventIds) => deleteEach('outbox', eventIds),

    appendEvents: (events) =>
      requests(events.map((event) => writing('events').add(event))).then((keys) => keys.map(Number)),
    putEvents: (events) => putEach('events', events),
    deleteEvents: (positions) => deleteEach('events', positions),
    eventsAt: (positions) => getEach('events', positions),
    eventsBetween: (from, to) => {
      const range = inclusive(from, to);
      return range ? request(store('events').getAll(range)) : Promise.resolve([]);
    },
    eventsAfter: (position, limit) =>
      request(store('events').getAll(KeyRange.lowerBound(position, true), limit)),
    // One step of a reverse key cursor: the store is never read.
    lastEventPosition: () =>
      request(store('events').openKeyCursor(null, 'prev')).then((cursor) =>
        cursor ? Number(cursor.key) : undefined,
      ),
    streamEvents: (streamId) => request(store('events').index('streamId').getAll(KeyRange.only(streamId))),
    eventsWithIds: (eventIds) =>
      requests(eventIds.map((eventId) => store('events').index('eventId').get(eventId))).then((events) =>
        events.filter((event) => event !== undefined),
      ),
    storedEventIds: (eventIds) =>
      requests(eventIds.map((eventId) => store('events').index('eventId').getKey(eventId))).then((keys) =>
        eventIds.filter((_, index) => keys[index] !== undefined),
      ),

    leases: () => request(store('leases').getAll()),
    lease: (batchId) => request(store('leases').get(batchId)),
    addLease: (lease) => request(writing('leases').add(lease)).then(done),
    deleteLeases: (batchIds) => deleteEach('leases', batchIds),

    streams: (streamIds) => getEach('streams', streamIds),
    putStreams: (rows) => putEach('streams', rows),
    deliveries: (streamIds) => getEach('deliveries', streamIds),
    putDeliveries: (rows) => putEach('deliveries', rows),
    commands: (commandIds) => getEach('commands', commandIds),
    addCommands: (rows) => addEach('commands', rows),
    putCommands: (rows) => putEach('commands', rows),

    meta: (key) => request(store('meta').get(key)).then((row: { value?: unknown } | undefined) => row?.value),
    putMeta: (key, value) => request(writing('meta').put({ key, value })).then(done),

    archivedStreams: (streamIds) => getEach('archive', streamIds),
    archiveStreams: (tombstones, positions) => {
      const streamIds = tombstones.map((row) => row.streamId);
      return Promise.all([
        putEach('archive', tombstones),
        deleteEach('events', positions),
        deleteEach('streams', streamIds),
        deleteEach('deliveries', streamIds),
      ]).then(done);
    },

    readModelRows: (table, ids) => getEach(table, ids),
    putReadModelRows: (table, rows) => putEach(table, rows),
    deleteReadModelRows: (table, ids) => deleteEach(table, ids),
    clearTables: (names) => requests(names.map((name) => writing(name).clear())).then(done),
  };
}

export function openPlainDatabase(options: PlainDatabaseOptions): PlainOutboxDatabase {
  const factory = options.indexedDB ?? indexedDB;
  const KeyRange = options.IDBKeyRange ?? IDBKeyRange;
  const durability = options.durability ?? 'strict';
  const notify = options.notify ?? broadcastStorageMutated();
  let connection: Promise<IDBDatabase> | null = null;

  const open = (): Promise<IDBDatabase> =>
    new Promise((resolve, reject) => {
      const req = factory.open(options.name);
      let missing = false;
      req.onupgradeneeded = () => {
        // No version asked for, so this only fires for a database that does not exist: leave it uncreated.
        missing = true;
        req.transaction?.abort();
      };
      req.onerror = (event) => {
        event.preventDefault();
        reject(
          missing
            ? new DatabaseUnavailableError('no_database', `No database ${options.name} yet: nothing to flush`)
            : req.error,
        );
      };
      req.onsuccess = () => {
        const db = req.result;
        const stored = Math.floor(db.version / 10);
        if (stored === options.schemaVersion) {
          resolve(db);
          return;
        }
        db.close();
        reject(
          stored < options.schemaVersion
            ? new DatabaseUnavailableError(
                'schema_outdated',
                `Database ${options.name} has schema ${stored}, this build expects ${options.schemaVersion}: a page of this version upgrades it`,
              )
            : new DatabaseUnavailableError(
                'schema_newer',
                `Database ${options.name} has schema ${stored}, newer than this build's ${options.schemaVersion}: a newer build flushes it`,
              ),
        );
      };
    });

  const connect = (): Promise<IDBDatabase> => {
    connection ??= open().then(
      (db) => {
        const forget = () => {
          db.close();
          connection = null;
          options.onConnectionLost?.();
        };
        // A page is upgrading (or deleting) the database: step aside, reopen (and re-check) on next use.
        db.onversionchange = forget;
        db.onclose = forget;
        return db;
      },
      (error: unknown) => {
        connection = null;
        throw error;
      },
    );
    return connection;
  };

  return {
    streamTypes: options.streamTypes,
    async transact(mode, scope, work) {
      const tx = (await connect()).transaction([...scope], mode === 'r' ? 'readonly' : 'readwrite', {
        durability,
      });
      const committed = settled(tx);
      const touched: Touched = new Map();
      let result: Awaited<ReturnType<typeof work>>;
      try {
        result = await work(plainRecords(tx, KeyRange, touched));
      } catch (error) {
        quietly(() => tx.abort());
        await committed.catch(() => undefined);
        throw error;
      }
      // Commit now rather than when the event loop finds no more requests.
      quietly(() => tx.commit());
      await committed;
      if (touched.size > 0) notify(options.name, touched);
      return result;
    },
    close() {
      const current = connection;
      connection = null;
      void current?.then((db) => db.close()).catch(() => undefined);
    },
  };
}
