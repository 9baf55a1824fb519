import Dexie, { type EntityTable, type Table, type Transaction } from 'dexie';
import type { WorkProgress } from '../progress';
import { dexieRecords, dexieTransact } from '../storage/dexie-database';
import type { OutboxDatabase } from '../storage/outbox-database';
import { SYNC_DB_NAME } from '../storage/outbox-database';
import type {
  ArchivedStreamRow,
  CommandRow,
  DeliveryRow,
  LeaseRow,
  MetaRow,
  OutboxRow,
  StoredEvent,
  StreamRow,
} from '../storage/rows';
import {
  checkSameLayouts,
  type DeferredStreamTypes,
  isDeferred,
  layoutOf,
  type StreamLayout,
  tablesOf,
} from '../stream-layout';
import type { StreamTypes } from '../stream-types';

/**
 * The browser database: event store, outbox, leases, stream snapshots, delivery facts, handled commands and
 * bookkeeping (the core's tables), plus each stream type's read-model tables. One Dexie instance is shared
 * by the command pipeline, the sync engine (pages; the worker reads and writes the same database through
 * plain IndexedDB) and the UI's live queries.
 *
 * The core never names a stream type's table: `openOutboxDb` adds the tables the stream types declare.
 *
 * It is also an `OutboxDatabase` (`transact`), so the outbox's operations take it as they are: the pages'
 * storage adapter is the Dexie database itself.
 */

/** The core's tables, by name: what the sync path and the command pipeline read and write. */
export interface CoreTables {
  events: EntityTable<StoredEvent, 'position'>;
  outbox: EntityTable<OutboxRow, 'eventId'>;
  leases: EntityTable<LeaseRow, 'batchId'>;
  streams: EntityTable<StreamRow, 'streamId'>;
  commands: EntityTable<CommandRow, 'commandId'>;
  deliveries: EntityTable<DeliveryRow, 'streamId'>;
  meta: EntityTable<MetaRow, 'key'>;
  archive: EntityTable<ArchivedStreamRow, 'streamId'>;
}

/** The page's Dexie database: the core's tables, the stream types' tables, and the storage port (`transact`). */
export type OutpostDb = Dexie &
  CoreTables &
  OutboxDatabase & {
    /** Every stream type's name and tables: known from the start, even while the stream types load. */
    readonly layouts: readonly StreamLayout[];
  };

/** The core's index specs at the current layout. */
export const CORE_TABLES = {
  events: '++position, &eventId, &[streamId+version], streamId',
  outbox: '&eventId, position, [status+position], streamId, [streamId+version]',
  leases: '&batchId',
  streams: '&streamId',
  commands: '&commandId',
  deliveries: '&streamId',
  meta: '&key',
  archive: '&streamId',
} as const;

/** The database's default name. */
export const DB_NAME = SYNC_DB_NAME;

/**
 * A version of the database's layout that an earlier build shipped: its index specs (null deletes a table)
 * and what its upgrade does. The app's composition root owns the list, since old layouts name tables of
 * stream types the core knows nothing about.
 */
export interface SchemaVersion {
  readonly version: number;
  readonly stores: Readonly<Record<string, string | null>>;
  /** Rewrites what the earlier layout stored so the next one can read it; runs in the upgrade transaction. */
  readonly upgrade?: (tx: Transaction) => Promise<void>;
}

/** How to open a page's database: its name, its stream types, its layout version and every earlier one. */
export interface OpenOutboxDbOptions {
  readonly name?: string;
  /**
   * The app's stream types, or their layouts now and the types later (`DeferredStreamTypes`): a page opens
   * its database and renders its lists with the layouts alone, and `streamTypesOf(db)` loads the rest when
   * a command, a sync or a stream's screen first needs it.
   */
  readonly streamTypes: StreamTypes | DeferredStreamTypes;
  /**
   * The layout version of this build (the worker's `schemaVersion`): the core's tables plus every
   * stream type's read-model tables. Bump it whenever a stream type is added or changes its tables.
   */
  readonly version: number;
  /**
   * Told where a rebuild of the read models that an upgrade owes stands (events replayed of all the events
   * stored) as it runs, and null once it is over. Every query waits for it, so a page can show this rather
   * than nothing.
   */
  readonly onRebuild?: (progress: WorkProgress | null) => void;
  /** Earlier layouts, oldest first; each later one is applied on top. */
  readonly history?: readonly SchemaVersion[];
  /** Tables of earlier layouts that this version deletes (a stream type's read model renamed or removed). */
  readonly retired?: readonly string[];
  /** Keys of `meta` that earlier builds kept and this version deletes (a fold that moved into read models). */
  readonly retiredMeta?: readonly string[];
  /**
   * IndexedDB durability for this connection. Commands use 'strict' by default: a command resolves only
   * once its events are on disk (docs/decisions.md).
   */
  readonly durability?: 'default' | 'strict' | 'relaxed';
  /** For tests: another IndexedDB factory (fake-indexeddb). */
  readonly indexedDB?: IDBFactory;
  readonly IDBKeyRange?: typeof IDBKeyRange;
}

/** Set by a layout upgrade, cleared by the rebuild that follows it in the same transaction. */
const REBUILD_OWED = 'readModelsRebuildOwed';

const loaders = new WeakMap<Dexie, () => Promise<StreamTypes>>();

/**
 * The database's stream types, loading them if they were deferred; a load that failed (a chunk that did not
 * download) is tried again on the next call.
 */
export function streamTypesOf(db: Dexie): Promise<StreamTypes> {
  const load = loaders.get(db);
  if (!load) throw new TypeError('streamTypesOf: not a database opened by openOutboxDb');
  return load();
}

/**
 * Opens (and on first use creates or upgrades) the outbox database with the core's tables and the stream
 * types' read-model tables. Layout changes add a version and never edit an old one: an installed app
 * upgrades a database written by any earlier version without losing an event or an outbox row.
 *
 * Read models are folds of the event store and the outbox, so any layout upgrade ends with a rebuild of
 * them at the new layout, with this build's stream types, before anyone reads: the upgrade only notes that
 * a rebuild is owed (it may not wait for stream types to load), and the database's `ready` step, which
 * holds every other query back, does it in one transaction and clears the note in the same one. A crash in
 * between leaves the note, and the next open rebuilds.
 */
export function openOutboxDb(options: OpenOutboxDbOptions): OutpostDb {
  const db = new Dexie(options.name ?? DB_NAME, {
    chromeTransactionDurability: options.durability ?? 'strict',
    ...(options.indexedDB ? { indexedDB: options.indexedDB } : {}),
    ...(options.IDBKeyRange ? { IDBKeyRange: options.IDBKeyRange } : {}),
  }) as OutpostDb;
  for (const step of options.history ?? []) {
    const version = db.version(step.version).stores(step.stores as Record<string, string | null>);
    if (step.upgrade) version.upgrade(step.upgrade);
  }
  const given = options.streamTypes;
  const layouts = isDeferred(given) ? given.layouts : given.all.map(layoutOf);
  let types: StreamTypes | null = isDeferred(given) ? null : given;
  let loading: Promise<StreamTypes> | null = null;
  loaders.set(db, () => {
    if (types) return Promise.resolve(types);
    loading ??= (given as DeferredStreamTypes).load().then(
      (arrived) => {
        checkSameLayouts(layouts, arrived);
        types = arrived;
        return arrived;
      },
      (error: unknown) => {
        loading = null;
        throw error;
      },
    );
    return loading;
  });
  const retired = Object.fromEntries((options.retired ?? []).map((table) => [table, null]));
  db.version(options.version)
    .stores({ ...retired, ...CORE_TABLES, ...tablesOf(layouts) } as Record<string, string | null>)
    // An async scope: Dexie keeps the upgrade's transaction across native awaits only in one it sees is async.
    .upgrade(async (tx) => {
      const meta = tx.table('meta');
      await meta.bulkDelete([...(options.retiredMeta ?? [])]);
      await meta.put({ key: REBUILD_OWED, value: options.version });
    });
  db.on(
    'ready',
    async (vip) => {
      if (!(await vip.table('meta').get(REBUILD_OWED))) return;
      const [all, { rebuildScope, rebuildWithin }] = await Promise.all([
        streamTypesOf(db),
        import('../device/read-models/rebuild'),
      ]);
      await vip.transaction('rw', rebuildScope(all), async (tx) => {
        const total = await tx.table('events').count();
        // The records bound to Dexie's upgrade-time transaction: the one that holds every other query back.
        await rebuildWithin(dexieRecords(tx), all, undefined, (done) => options.onRebuild?.({ done, total }));
        await tx.table('meta').delete(REBUILD_OWED);
      });
      // Over (a failure throws past this: the database does not open, and the page says so instead).
      options.onRebuild?.(null);
    },
    true,
  );
  Object.defineProperty(db, 'layouts', { value: layouts });
  Object.defineProperty(db, 'streamTypes', {
    get: () => {
      if (types) return types;
      throw new TypeError('The stream types are still loading: await streamTypesOf(db) first');
    },
  });
  Object.defineProperty(db, 'transact', { value: dexieTransact(db) });
  return db;
}

/** A stream type's read-model table, by the name it declared. */
export function readModelTable<T extends { readonly id: string }>(db: Dexie, name: string): Table<T, string> {
  return db.table(name);
}
