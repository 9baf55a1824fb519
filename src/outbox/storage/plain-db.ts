import type { StreamTypes } from '../stream-types';
import { dexieRecords } from './dexie-database';
import type { OutboxDatabase } from './outbox-database';
import { broadcastStorageMutated, type ChangeNotifier } from './storage-mutated';
import type { SyncCollection, SyncDb, SyncTable, SyncTableRef, SyncTables, SyncWhereClause } from './sync-db';

/**
 * `SyncDb` on plain IndexedDB, for the service worker: the same database Dexie opens in the pages, read and
 * written through the same indexes, without Dexie's ~31 kB.
 *
 * It never creates or upgrades the database: it opens it without a version, aborts the open if the database
 * does not exist yet, and refuses one whose schema is not the one it was built for (a page of the right
 * version upgrades it). It closes its connection on `versionchange`, so it never blocks a page's upgrade,
 * and reopens on next use.
 *
 * Inside `transaction()` every request is made on one native transaction, which stays active across the
 * promise reactions between requests (as it does in every current browser and in fake-indexeddb) and ends
 * when the scope awaits anything else, as with Dexie. Outside it, each call is its own transaction.
 */

export type SyncDbUnavailableCode = 'no_database' | 'schema_outdated' | 'schema_newer';

/** The database cannot be flushed by this build; nothing was written. */
export class SyncDbUnavailableError extends Error {
  override readonly name = 'SyncDbUnavailableError';
  constructor(
    readonly code: SyncDbUnavailableCode,
    message: string,
  ) {
    super(message);
  }
}

export interface PlainSyncDbOptions {
  readonly name: string;
  readonly streamTypes: StreamTypes;
  /** The Dexie `version()` this build's code expects; Dexie stores it as IndexedDB version × 10. */
  readonly schemaVersion: number;
  readonly durability?: IDBTransactionDurability;
  /** For tests: another IndexedDB factory and key range (fake-indexeddb). */
  readonly indexedDB?: IDBFactory;
  readonly IDBKeyRange?: typeof IDBKeyRange;
  /** Tells other contexts' Dexie of each committed write; defaults to Dexie's BroadcastChannel. */
  readonly notify?: ChangeNotifier;
}

export interface PlainSyncDb extends SyncDb, OutboxDatabase {
  /** Closes the connection; the next call opens it again. */
  close(): void;
}

/** The core's tables, which `SyncTables` names; read-model tables are reached with `table(name)`. */
const CORE_TABLE_NAMES = ['events', 'outbox', 'leases', 'streams', 'commands', 'deliveries', 'meta'] as const;
const everyTableListed: [
  Exclude<Exclude<keyof SyncTables, 'table'>, (typeof CORE_TABLE_NAMES)[number]>,
] extends [never]
  ? true
  : never = true;
void everyTableListed;

/** Runs `work` on the named store in a transaction of at least `mode`. */
type Runner = <R>(
  table: string,
  mode: IDBTransactionMode,
  work: (store: IDBObjectStore) => Promise<R>,
) => Promise<R>;

function request<R>(req: IDBRequest<R>): Promise<R> {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = (event) => {
      // As in Dexie: a failed request the scope catches does not abort the transaction; one it does not
      // catch rejects the scope, which aborts it.
      event.preventDefault();
      reject(req.error);
    };
  });
}

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

interface Query<T> {
  readonly index: string;
  /** Key ranges in ascending order; null for the whole index. */
  readonly ranges: readonly IDBKeyRange[] | null;
  readonly filter: ((row: T) => boolean) | null;
  readonly limit: number;
}

function keyAt(row: unknown, keyPath: string | string[]): unknown {
  const field = (path: string) => (row as Record<string, unknown>)[path];
  return Array.isArray(keyPath) ? keyPath.map(field) : field(keyPath);
}

export function createPlainSyncDb(options: PlainSyncDbOptions): PlainSyncDb {
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
            ? new SyncDbUnavailableError('no_database', `No database ${options.name} yet: nothing to flush`)
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
            ? new SyncDbUnavailableError(
                'schema_outdated',
                `Database ${options.name} has schema ${stored}, this build expects ${options.schemaVersion}: a page of this version upgrades it`,
              )
            : new SyncDbUnavailableError(
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

  const touch = (touched: Map<string, readonly string[]>, store: IDBObjectStore) => {
    if (!touched.has(store.name)) touched.set(store.name, [...store.indexNames]);
  };

  /** Outside a transaction: each call is its own, as Dexie's implicit transactions are. */
  const implicit: Runner = async (table, mode, work) => {
    const tx = (await connect()).transaction(table, mode, { durability });
    const done = settled(tx);
    const store = tx.objectStore(table);
    const touched = new Map<string, readonly string[]>();
    if (mode === 'readwrite') touch(touched, store);
    let result: Awaited<ReturnType<typeof work>>;
    try {
      result = await work(store);
    } catch (error) {
      quietly(() => tx.abort());
      await done.catch(() => undefined);
      throw error;
    }
    if (mode === 'readonly') return result;
    await done;
    notify(options.name, touched);
    return result;
  };

  const compare = (a: unknown, b: unknown) => factory.cmp(a, b);

  /** The rows a query selects, in index order: one getAll per range, all issued before any is awaited. */
  async function select<T>(store: IDBObjectStore, query: Query<T>): Promise<T[]> {
    const source = sourceOf(store, query.index);
    const ranges = query.ranges ?? [null];
    const count = query.filter || !Number.isFinite(query.limit) ? undefined : query.limit;
    const pages = await Promise.all(ranges.map((range) => request(source.getAll(range, count))));
    let rows = pages.flat() as T[];
    if (query.filter) rows = rows.filter(query.filter);
    return Number.isFinite(query.limit) ? rows.slice(0, query.limit) : rows;
  }

  function sourceOf(store: IDBObjectStore, index: string): IDBObjectStore | IDBIndex {
    return index === store.keyPath ? store : store.index(index);
  }

  function collection<T>(table: string, run: Runner, query: Query<T>): SyncCollection<T> {
    const read = <R>(work: (store: IDBObjectStore) => Promise<R>) => run(table, 'readonly', work);
    return {
      limit: (limit) => collection(table, run, { ...query, limit: Math.min(query.limit, limit) }),
      filter: (predicate) => {
        const before = query.filter;
        const filter = before ? (row: T) => before(row) && predicate(row) : predicate;
        return collection(table, run, { ...query, filter });
      },
      toArray: () => read((store) => select(store, query)),
      async sortBy(keyPath) {
        const rows = await read((store) => select(store, query));
        return rows.sort((a, b) => compare(keyAt(a, keyPath), keyAt(b, keyPath)));
      },
      count: () =>
        read(async (store) => {
          if (query.filter) return (await select(store, query)).length;
          const source = sourceOf(store, query.index);
          const counts = await Promise.all(
            (query.ranges ?? [null]).map((range) => request(source.count(range ?? undefined))),
          );
          return Math.min(
            query.limit,
            counts.reduce((sum, n) => sum + n, 0),
          );
        }),
      first: () => read(async (store) => (await select(store, { ...query, limit: 1 }))[0]),
      last: () =>
        read(async (store) => {
          if (query.filter || Number.isFinite(query.limit)) return (await select(store, query)).at(-1);
          // One step of a reverse cursor per range, from the highest: the whole index is never read.
          const source = sourceOf(store, query.index);
          for (const range of [...(query.ranges ?? [null])].reverse()) {
            const cursor = await request(source.openCursor(range, 'prev'));
            if (cursor) return cursor.value as T;
          }
          return undefined;
        }),
      keys: () =>
        read(async (store) => {
          const keyPath = sourceOf(store, query.index).keyPath ?? query.index;
          return (await select(store, query)).map((row) => keyAt(row, keyPath));
        }),
    };
  }

  function whereClause<T>(table: string, run: Runner, index: string): SyncWhereClause<T> {
    const over = (ranges: readonly IDBKeyRange[]) =>
      collection<T>(table, run, { index, ranges, filter: null, limit: Number.POSITIVE_INFINITY });
    return {
      between(lower, upper, includeLower = true, includeUpper = false) {
        const order = compare(lower, upper);
        // Dexie answers an empty range with no rows where IDBKeyRange.bound would throw.
        if (order > 0 || (order === 0 && !(includeLower && includeUpper))) return over([]);
        return over([KeyRange.bound(lower, upper, !includeLower, !includeUpper)]);
      },
      equals: (key) => over([KeyRange.only(key)]),
      anyOf(keys) {
        const sorted = [...keys]
          .sort(compare)
          .filter((key, i, all) => i === 0 || compare(all[i - 1], key) !== 0);
        return over(sorted.map((key) => KeyRange.only(key)));
      },
    };
  }

  function table<T, K extends IDBValidKey>(name: string, run: Runner): SyncTable<T, K> {
    const write = <R>(work: (store: IDBObjectStore) => Promise<R>) => run(name, 'readwrite', work);
    const read = <R>(work: (store: IDBObjectStore) => Promise<R>) => run(name, 'readonly', work);
    return {
      name,
      get: (key) => read((store) => request(store.get(key)) as Promise<T | undefined>),
      bulkGet: (keys) =>
        read((store) => Promise.all(keys.map((key) => request(store.get(key)) as Promise<T | undefined>))),
      put: (row) => write((store) => request(store.put(row))),
      add: (row) => write((store) => request(store.add(row))),
      async bulkPut(rows) {
        if (rows.length === 0) return undefined;
        const keys = await write((store) => Promise.all(rows.map((row) => request(store.put(row)))));
        return keys.at(-1);
      },
      async bulkAdd<B extends boolean>(rows: T[], { allKeys }: { allKeys: B }) {
        type Keys = B extends true ? K[] : K;
        const keys =
          rows.length === 0
            ? []
            : await write((store) => Promise.all(rows.map((row) => request(store.add(row)) as Promise<K>)));
        return (allKeys ? keys : keys.at(-1)) as Keys;
      },
      delete: (key) => write(async (store) => void (await request(store.delete(key)))),
      async bulkDelete(keys) {
        if (keys.length === 0) return;
        await write((store) => Promise.all(keys.map((key) => request(store.delete(key)))));
      },
      clear: () => write(async (store) => void (await request(store.clear()))),
      toArray: () => read((store) => request(store.getAll()) as Promise<T[]>),
      where: (index) => whereClause<T>(name, run, index),
      orderBy: (index) =>
        collection<T>(name, run, { index, ranges: null, filter: null, limit: Number.POSITIVE_INFINITY }),
    };
  }

  function tables(run: Runner): SyncTables {
    const entries = CORE_TABLE_NAMES.map((name) => [name, table(name, run)] as const);
    return { ...Object.fromEntries(entries), table: (name: string) => table(name, run) } as SyncTables;
  }

  async function transaction<U>(
    _mode: 'rw',
    scopeTables: SyncTableRef | readonly SyncTableRef[],
    scope: (tables: SyncTables) => PromiseLike<U>,
  ): Promise<U> {
    const names = (Array.isArray(scopeTables) ? scopeTables : [scopeTables]).map((entry) =>
      typeof entry === 'string' ? entry : entry.name,
    );
    const tx = (await connect()).transaction(names, 'readwrite', { durability });
    const done = settled(tx);
    const touched = new Map<string, readonly string[]>();
    // The scope's tables issue their requests on this transaction only; a table outside it fails as in Dexie.
    const inside: Runner = async (name, mode, work) => {
      const store = tx.objectStore(name);
      if (mode === 'readwrite') touch(touched, store);
      return work(store);
    };
    let result: U;
    try {
      result = await scope(tables(inside));
    } catch (error) {
      quietly(() => tx.abort());
      await done.catch(() => undefined);
      throw error;
    }
    // Commit now rather than when the event loop finds no more requests.
    quietly(() => tx.commit());
    await done;
    notify(options.name, touched);
    return result;
  }

  return {
    ...tables(implicit),
    streamTypes: options.streamTypes,
    transaction: transaction as SyncDb['transaction'],
    transact: (_mode, scope, work) => transaction('rw', scope, (tables) => work(dexieRecords(tables))),
    close() {
      const current = connection;
      connection = null;
      void current?.then((db) => db.close()).catch(() => undefined);
    },
  };
}
