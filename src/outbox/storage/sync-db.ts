import type {
  CommandRow,
  DeliveryRow,
  LeaseRow,
  MetaRow,
  OutboxRow,
  StoredEvent,
  StreamRow,
} from '../client/db';

/**
 * The part of Dexie's API the sync path (engine, outbox store, projections, sync meta, client id) calls, as
 * one interface. Dexie's `OutpostDb` satisfies it structurally, and so does the plain IndexedDB
 * implementation in `plain-db.ts`, which keeps Dexie (~31 kB gzip) out of the service worker. Semantics are
 * Dexie's: `between` includes its lower bound and excludes its upper one unless told otherwise, `filter` runs
 * before `limit`, compound indexes are named by their bracket strings (`'[status+position]'`).
 *
 * No runtime import of `dexie` here or in anything the worker imports: this file is type-only apart from
 * the key constants and `all`.
 */

/** The database's default name, here (not beside Dexie) so the worker can name it without bringing Dexie. */
export const SYNC_DB_NAME = 'outpost';

/** A key the sync path queries with, as Dexie's `IndexableType` has it: one part, or an array of parts. */
export type SyncKeyPart = string | number | Date | never[][];
export type SyncKey = SyncKeyPart | readonly SyncKeyPart[];

/** Dexie.minKey and Dexie.maxKey: the lowest and highest IndexedDB keys, for open-ended compound ranges. */
export const minKey: number = Number.NEGATIVE_INFINITY;
export const maxKey: SyncKeyPart = [[]];

export interface SyncCollection<T> {
  limit(count: number): SyncCollection<T>;
  filter(predicate: (row: T) => boolean): SyncCollection<T>;
  toArray(): Promise<T[]>;
  sortBy(keyPath: string): Promise<T[]>;
  count(): Promise<number>;
  first(): Promise<T | undefined>;
  last(): Promise<T | undefined>;
  /** The index keys (not the primary keys) of the rows, in index order. */
  keys(): Promise<unknown[]>;
}

export interface SyncWhereClause<T> {
  between(lower: SyncKey, upper: SyncKey, includeLower?: boolean, includeUpper?: boolean): SyncCollection<T>;
  equals(key: SyncKey): SyncCollection<T>;
  anyOf(keys: SyncKey[]): SyncCollection<T>;
}

export interface SyncTable<T, K> {
  readonly name: string;
  get(key: K): Promise<T | undefined>;
  bulkGet(keys: K[]): Promise<(T | undefined)[]>;
  put(row: T): Promise<unknown>;
  add(row: T): Promise<unknown>;
  bulkPut(rows: T[]): Promise<unknown>;
  /** `allKeys: true` resolves every new key (autoincrement ones included), in order; otherwise the last. */
  bulkAdd<B extends boolean>(rows: T[], options: { allKeys: B }): Promise<B extends true ? K[] : K>;
  delete(key: K): Promise<void>;
  bulkDelete(keys: K[]): Promise<void>;
  clear(): Promise<void>;
  /** An index by name, or the primary key's own key path. */
  toArray(): Promise<T[]>;
  where(index: string): SyncWhereClause<T>;
  orderBy(index: string): SyncCollection<T>;
}

/**
 * The tables, as seen inside a transaction (Dexie's transaction object or the plain implementation's scope)
 * or outside one (each call is then its own transaction, as in Dexie): the core's by name, a stream type's
 * read-model tables through `table(name)` (the core never names them).
 */
export interface SyncTables {
  readonly events: SyncTable<StoredEvent, StoredEvent['position']>;
  readonly outbox: SyncTable<OutboxRow, string>;
  readonly leases: SyncTable<LeaseRow, string>;
  readonly streams: SyncTable<StreamRow, string>;
  readonly commands: SyncTable<CommandRow, string>;
  readonly deliveries: SyncTable<DeliveryRow, string>;
  readonly meta: SyncTable<MetaRow, string>;
  // biome-ignore lint/suspicious/noExplicitAny: a read-model table holds a stream type's own rows; it checks them.
  table(name: string): SyncTable<any, any>;
}

/** A table in a transaction's scope: its name, or the table itself (Dexie's or ours). */
export type SyncTableRef = string | { readonly name: string };

export interface SyncDb extends SyncTables {
  /**
   * Runs `scope` in one read-write transaction over `tables` and resolves its result once committed; a throw
   * (or rejection) inside aborts it and nothing is written. `scope` must use the tables it is given, not this
   * object's: with Dexie they are the transaction's tables, with plain IndexedDB the only ones inside it.
   */
  transaction<U>(
    mode: 'rw',
    tables: readonly SyncTableRef[],
    scope: (tables: SyncTables) => PromiseLike<U>,
  ): Promise<U>;
  transaction<U>(mode: 'rw', table: SyncTableRef, scope: (tables: SyncTables) => PromiseLike<U>): Promise<U>;
}

type Settled<T extends readonly unknown[]> = { -readonly [P in keyof T]: Awaited<T[P]> };

/**
 * `Promise.all` that keeps Dexie's transaction zone when any of the values is a Dexie promise (it then is
 * `Dexie.Promise.all`, taken from that promise's constructor so this file never imports Dexie), and is the
 * native one otherwise: a plain IndexedDB transaction stays active across native promise reactions.
 */
export function all<T extends readonly unknown[] | []>(values: T): Promise<Settled<T>> {
  for (const value of values) {
    const maker = (value as { constructor?: { all?: unknown } } | null | undefined)?.constructor;
    if (typeof (value as PromiseLike<unknown> | null)?.then === 'function' && maker !== Promise) {
      if (typeof maker?.all === 'function') return (maker.all as (values: T) => Promise<Settled<T>>)(values);
    }
  }
  return Promise.all(values) as Promise<Settled<T>>;
}
