import Dexie, { type EntityTable, type Table, type Transaction } from 'dexie';
import type { WorkProgress } from '../progress';
import type { EventMetadata } from '../protocol/messages';
import { dexieTransact } from '../storage/dexie-database';
import type { OutboxDatabase } from '../storage/outbox-database';
import { SYNC_DB_NAME } from '../storage/outbox-database';
import {
  type DeferredStreamTypes,
  isDeferred,
  layoutOf,
  type StreamLayout,
  sameLayouts,
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

interface StoredEnvelope {
  /** The event's global position: assigned by the event store on append, in the order events were stored. */
  readonly position?: number;
  readonly eventId: string;
  readonly streamId: string;
  /** The event's type, one of its stream type's (`OrderCreated`, `CountSubmitted`, …). */
  readonly type: string;
  readonly schemaVersion: number;
  readonly data: unknown;
  readonly occurredAt: string;
}

/** An event the client wrote; it also has an outbox row until delivered. */
export interface StoredClientEvent extends StoredEnvelope {
  readonly kind: 'client';
  readonly version: number;
  readonly metadata: EventMetadata;
}

/** A decision the server made, received by push answer or pull; never enters the outbox. */
export interface StoredServerEvent extends StoredEnvelope {
  readonly kind: 'server';
  readonly serverSeq: number;
}

/** What a `DeliveryDiscarded` local record says about the discarded entry. */
export interface DiscardFacts {
  readonly eventId: string;
  readonly eventType: string;
  readonly version: number;
  readonly reason: string;
}

/**
 * A local record that is neither sent nor folded into the aggregate: it tells the person what happened to
 * their data on this device (a dead entry they chose to discard).
 */
export interface StoredLocalEvent extends StoredEnvelope {
  readonly kind: 'local';
  readonly type: 'DeliveryDiscarded';
  readonly data: DiscardFacts;
}

export type StoredEvent = StoredClientEvent | StoredServerEvent | StoredLocalEvent;

/**
 * What a row stores. "In flight" is not stored: a pending row named by a live lease record is in flight
 * (`outboxEntriesView`). "Delivered" is not stored either: a delivered row is deleted, so a client event
 * with no outbox row is delivered. A `parked` row was written under another user than the one this device
 * now sends as (`account.ts`): it waits, kept and shown, until that user signs in again.
 */
export type OutboxStatus = 'pending' | 'dead' | 'parked';

export interface OutboxRow {
  readonly eventId: string;
  /** The event's global position in the event store: the order in which rows are sent. */
  readonly position: number;
  readonly streamId: string;
  readonly version: number;
  readonly type: string;
  readonly status: OutboxStatus;
  readonly attempts: number;
  /** Epoch ms before which the row is not sent again (backoff); 0 when it may go at once. */
  readonly nextAttemptAt: number;
  readonly lastError: string | null;
  /** Why the row is dead (`rejected:<code>`, `bad_request`, `max_attempts`…), null otherwise. */
  readonly deadCode: string | null;
  readonly createdAt: number;
  /**
   * Who was signed in when the event was written (`account.ts`), so it is never sent under someone else;
   * null when nobody was (the next user to sign in sends it). Absent on rows written before sign-in existed.
   */
  readonly writtenBy?: string | null;
}

/**
 * One claimed batch: which flusher sent it and until when its rows are in flight. One record per batch, not
 * a rewrite of every row: a claim writes one record and an apply deletes it, so a row is written once in its
 * life (its deletion on delivery) when nothing goes wrong. Keyed by the push's batchId, so an answer removes
 * exactly its own lease even when its flusher already claimed the next batch; a record past `until` is
 * deleted by the next claim, which alone returns its rows to the pool.
 */
export interface LeaseRow {
  readonly batchId: string;
  readonly ownerId: string;
  readonly until: number;
  readonly eventIds: readonly string[];
  /** The streams of `eventIds`, so a view shows them as sending without reading any outbox row. */
  readonly streamIds?: readonly string[];
}

/** The aggregate's last known state per stream: a snapshot cache and the expected version for appends. */
export interface StreamRow {
  readonly streamId: string;
  readonly version: number;
  /** The stream type's state, as its `evolve` folded it. */
  readonly state: unknown;
  /**
   * Set once the person discarded a dead entry of this stream: events from this version on will never reach
   * the server, so the state folds only the versions before it and the stream takes no more commands.
   * Derived from the stream's DeliveryDiscarded records, so a rebuild restores it.
   */
  readonly discardedFromVersion?: number;
  /** The reason the person gave for the discard that set `discardedFromVersion`. */
  readonly discardedReason?: string;
  /** When the stream's first and latest events happened (event times, so a rebuild agrees). */
  readonly createdAt?: string;
  readonly updatedAt?: string;
  /**
   * The position of the last event folded into this snapshot: an event handed to the projection again is
   * skipped, so a counter never counts one twice. Absent on snapshots written before it existed.
   */
  readonly foldedPosition?: number;
}

/** A handled command, so the same commandId a second time answers the first result and writes nothing. */
export interface CommandRow {
  readonly commandId: string;
  readonly streamId: string;
  readonly eventIds: readonly string[];
  readonly version: number;
  readonly handledAt: number;
  /** The command as it was handled (canonical JSON): the same id with another command is refused. */
  readonly command?: string;
}

/**
 * A stream's delivery as stored: only on this device (`local`), tried and waiting to be tried again
 * (`retrying`, until `retryAt`), all delivered, held back by a dead entry (`attention`), or waiting for another user to sign in
 * (`parked`). Facts that only
 * time changes are not stored: "sending" is derived from a live lease (`deliveryView`).
 */
export type StoredSyncState = 'local' | 'retrying' | 'delivered' | 'attention' | 'parked';

/** What views show: the stored state, or `sending` while a live lease holds one of the stream's entries. */
export type SyncState = StoredSyncState | 'sending';

/** The first dead entry of a stream: what holds the rest back, as facts (the UI words them). */
export interface BlockedFacts {
  readonly eventId: string;
  readonly type: string;
  readonly version: number;
  /** `rejected:<code>`, `bad_request`, `too_large`, `max_attempts`, … */
  readonly deadCode: string | null;
  /** The server's reason, or the failure the engine recorded. */
  readonly error: string | null;
  /** Whether later entries of the stream wait behind it. */
  readonly waiting: boolean;
}

/**
 * A stream's delivery facts, kept by the core for every stream that has events: read models never store
 * them, views join them (`deliveryOf`) so a claim or an answer rewrites one small row per stream.
 */
export interface DeliveryRow {
  readonly streamId: string;
  /** The stream's highest client version, so a refresh knows no row above the ones it holds can exist. */
  readonly version: number;
  readonly state: StoredSyncState;
  /** While `retrying`: the earliest moment one of its entries may be sent again (epoch ms). */
  readonly retryAt: number | null;
  readonly blocked: BlockedFacts | null;
  /** Set once a dead entry was discarded on this device: from which version, and the person's reason. */
  readonly discarded: { readonly fromVersion: number; readonly reason: string | null } | null;
  /** While `parked`: the user whose sign-in it waits for (who wrote its first parked entry). */
  readonly waitingFor?: string;
}

/**
 * What stays of an archived stream (`retention.ts`): that it existed and how far it went, so a server event
 * for it pulled again (a fresh clientId pulls from the start) or a command naming it never brings it back
 * half-made. One small row per archived stream, read only by key.
 */
export interface ArchivedStreamRow {
  readonly streamId: string;
  /** Its highest client version when archived. */
  readonly version: number;
  /** The position of its last event in the event store when archived. */
  readonly lastPosition: number;
  /** When its last event happened, and when it was archived (epoch ms, this device's clock). */
  readonly updatedAt: string;
  readonly archivedAt: number;
}

export interface MetaRow {
  readonly key: string;
  readonly value: unknown;
}

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

export const DB_NAME = SYNC_DB_NAME;

/**
 * A version of the database's layout that an earlier build shipped: its index specs (null deletes a table)
 * and what its upgrade does. The app's composition root owns the list, since old layouts name tables of
 * stream types the core knows nothing about.
 */
export interface SchemaVersion {
  readonly version: number;
  readonly stores: Readonly<Record<string, string | null>>;
  readonly upgrade?: (tx: Transaction) => Promise<void>;
}

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
        if (!sameLayouts(layouts, arrived)) {
          throw new TypeError('The stream types loaded are not the ones whose layouts opened the database');
        }
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
      const [all, { rebuildScope, rebuildWithin, upgradeTables }] = await Promise.all([
        streamTypesOf(db),
        import('./rebuild'),
      ]);
      await vip.transaction('rw', rebuildScope(all), async (tx) => {
        const total = await tx.table('events').count();
        await rebuildWithin(upgradeTables(tx), all, undefined, (done) =>
          options.onRebuild?.({ done, total }),
        );
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
