import type { ReadModelRow } from '../stream-type';
import type { StreamTypes } from '../stream-types';
import type {
  ArchivedStreamRow,
  CommandRow,
  DeliveryRow,
  LeaseRow,
  OutboxRow,
  OutboxStatus,
  StoredEvent,
  StreamRow,
} from './rows';

/**
 * What a storage adapter provides: one transaction at a time over the outbox's records, each read and write
 * named for what the outbox does with it. The outbox's operations (`outbox-storage.ts`) are written once
 * over these; an adapter only says how each record is read or written in its store: Dexie in the pages
 * (`dexie-database.ts`), plain IndexedDB in the service worker (`plain-database.ts`), which keeps Dexie's
 * ~31 kB out of the worker.
 *
 * Every read or write issues its requests when it is called, before anything is awaited, so a transaction
 * stays active between them; `all` waits for several together (one round trip instead of several).
 *
 * No runtime import of `dexie` here or in anything the worker imports.
 */
export interface OutboxDatabase {
  /** The app's stream types: their read models are projected in the outbox's transactions. */
  readonly streamTypes: StreamTypes;
  /**
   * Runs `work` in one transaction over `scope` (table names) and resolves its result once committed; a
   * throw (or rejection) inside aborts it and nothing is written. `work` must not await anything but these
   * records: IndexedDB commits a transaction that waits on anything else (a fetch, a timer).
   */
  transact<T>(
    mode: 'r' | 'rw',
    scope: readonly string[],
    work: (records: OutboxRecords) => Promise<T>,
  ): Promise<T>;
}

/** A `limit` meaning "every row": IndexedDB's largest count (an unsigned long). */
export const ALL_ROWS = 2 ** 32 - 1;

/** The reads and writes of one transaction. Rows come back in the order named; missing keys as undefined. */
export interface OutboxRecords {
  /** Pending rows in position order, from `from` (the lowest when undefined), at most `limit`. */
  pendingRows(from: number | undefined, inclusive: boolean, limit: number): Promise<OutboxRow[]>;
  /** Every row with this status (dead or parked: few, a person's to deal with), in position order. */
  rowsWithStatus(status: Exclude<OutboxStatus, 'pending'>): Promise<OutboxRow[]>;
  countRows(status: OutboxStatus): Promise<number>;
  outboxRows(eventIds: readonly string[]): Promise<(OutboxRow | undefined)[]>;
  /** The rows at positions `from` to `to` (both included), in position order. */
  outboxRowsBetween(from: number, to: number): Promise<OutboxRow[]>;
  /** A stream's rows (every stored row is undelivered). */
  streamRows(streamId: string): Promise<OutboxRow[]>;
  /** A stream's rows from `version` on (included), ascending version. */
  streamRowsFrom(streamId: string, version: number): Promise<OutboxRow[]>;
  /** New rows: fails (and so aborts the transaction) if one exists. */
  addOutboxRows(rows: readonly OutboxRow[]): Promise<void>;
  putOutboxRows(rows: readonly OutboxRow[]): Promise<void>;
  deleteOutboxRows(eventIds: readonly string[]): Promise<void>;

  /** Appends events to the store and resolves their positions, in order. A stored eventId fails. */
  appendEvents(events: readonly StoredEvent[]): Promise<number[]>;
  /**
   * Puts events back at their positions (a stored event read again by a newer build, `rebuild.ts`), or
   * removes them: only a rebase does, for unsent events it replaces in the same transaction (`rebase.ts`).
   */
  putEvents(events: readonly StoredEvent[]): Promise<void>;
  deleteEvents(positions: readonly number[]): Promise<void>;
  eventsAt(positions: readonly number[]): Promise<(StoredEvent | undefined)[]>;
  /** The events at positions `from` to `to` (both included), in position order. */
  eventsBetween(from: number, to: number): Promise<StoredEvent[]>;
  /** At most `limit` events after `position` (excluded), in position order. */
  eventsAfter(position: number, limit: number): Promise<StoredEvent[]>;
  /** The position of the last stored event; undefined while the store is empty. */
  lastEventPosition(): Promise<number | undefined>;
  /** A stream's events, in position order. */
  streamEvents(streamId: string): Promise<StoredEvent[]>;
  /** The stored events with these eventIds, in no particular order. */
  eventsWithIds(eventIds: readonly string[]): Promise<StoredEvent[]>;
  /** Which of these eventIds are stored, in no particular order. */
  storedEventIds(eventIds: readonly string[]): Promise<string[]>;

  /** Every lease record: one per batch in flight, a handful at most. */
  leases(): Promise<LeaseRow[]>;
  lease(batchId: string): Promise<LeaseRow | undefined>;
  addLease(lease: LeaseRow): Promise<void>;
  deleteLeases(batchIds: readonly string[]): Promise<void>;

  streams(streamIds: readonly string[]): Promise<(StreamRow | undefined)[]>;
  putStreams(rows: readonly StreamRow[]): Promise<void>;
  deliveries(streamIds: readonly string[]): Promise<(DeliveryRow | undefined)[]>;
  putDeliveries(rows: readonly DeliveryRow[]): Promise<void>;
  commands(commandIds: readonly string[]): Promise<(CommandRow | undefined)[]>;
  /** New command rows: fails (and so aborts the transaction) if one exists. */
  addCommands(rows: readonly CommandRow[]): Promise<void>;
  /** Command rows as they stand after a rebase decided them again. */
  putCommands(rows: readonly CommandRow[]): Promise<void>;

  /** The value stored under `key` in `meta`; undefined when there is none. */
  meta(key: string): Promise<unknown>;
  putMeta(key: string, value: unknown): Promise<void>;

  /** Tombstones of archived streams (`client/retention.ts`), in the order named. */
  archivedStreams(streamIds: readonly string[]): Promise<(ArchivedStreamRow | undefined)[]>;
  /**
   * Archives streams: their tombstones go in, their events (by position), snapshots and delivery rows go out.
   * Only `client/retention.ts` calls it, for streams whose every event the server holds.
   */
  archiveStreams(tombstones: readonly ArchivedStreamRow[], eventPositions: readonly number[]): Promise<void>;

  /** A stream type's read-model rows by id, in the order named (the core never names its tables). */
  readModelRows(table: string, ids: readonly string[]): Promise<(ReadModelRow | undefined)[]>;
  putReadModelRows(table: string, rows: readonly ReadModelRow[]): Promise<void>;
  deleteReadModelRows(table: string, ids: readonly string[]): Promise<void>;
  /** Empties tables a rebuild derives again: `streams`, `deliveries`, read-model tables. */
  clearTables(tables: readonly string[]): Promise<void>;
}

/** The database's default name, here (not beside Dexie) so the worker can name it without bringing Dexie. */
export const SYNC_DB_NAME = 'outpost';

/** The core's tables; a stream type's read-model tables come from `StreamTypes.tables`. */
export const CORE_TABLE_NAMES = [
  'events',
  'outbox',
  'leases',
  'streams',
  'commands',
  'deliveries',
  'meta',
  'archive',
] as const;
export type CoreTableName = (typeof CORE_TABLE_NAMES)[number];

/** Every stream type's read-model tables, for a transaction's scope. */
export const readModelTableNames = (types: StreamTypes): string[] => Object.keys(types.tables);

/** The lowest and highest IndexedDB keys (Dexie.minKey and Dexie.maxKey), for open-ended compound ranges. */
export const minKey: number = Number.NEGATIVE_INFINITY;
export const maxKey: never[][] = [[]];

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
