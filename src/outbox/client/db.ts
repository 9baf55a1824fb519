import Dexie, { type EntityTable } from 'dexie';
import type { ClientOrderEvent, ServerOrderEvent } from '../../orders/domain/events';
import type { OrderLine, OrderState, OrderStatus } from '../../orders/domain/order';
import type { EventMetadata } from '../protocol/messages';

/**
 * The browser database: event store, outbox, read models and bookkeeping. One Dexie instance is shared by
 * the command handler, the sync engine (page or service worker) and the UI's live queries.
 *
 * Schema changes add a new `version()` below and never edit an old one: an installed app upgrades a
 * database written by any earlier version without losing an event or an outbox row.
 */

/** An event the client wrote; it also has an outbox row until delivered. */
export type StoredClientEvent = ClientOrderEvent & {
  readonly position?: number;
  readonly kind: 'client';
  readonly eventId: string;
  readonly streamId: string;
  readonly version: number;
  readonly schemaVersion: number;
  readonly metadata: EventMetadata;
  readonly occurredAt: string;
};

/** A decision the server made, received by push answer or pull; never enters the outbox. */
export type StoredServerEvent = ServerOrderEvent & {
  readonly position?: number;
  readonly kind: 'server';
  readonly eventId: string;
  readonly streamId: string;
  readonly serverSeq: number;
  readonly schemaVersion: number;
  readonly occurredAt: string;
};

/**
 * A local record that is neither sent nor folded into the aggregate: it tells the person what happened to
 * their data on this device (a dead entry they chose to discard).
 */
export type StoredLocalEvent = {
  readonly position?: number;
  readonly kind: 'local';
  readonly eventId: string;
  readonly streamId: string;
  readonly type: 'DeliveryDiscarded';
  readonly schemaVersion: number;
  readonly data: {
    readonly eventId: string;
    readonly eventType: string;
    readonly version: number;
    readonly reason: string;
  };
  readonly occurredAt: string;
};

export type StoredEvent = StoredClientEvent | StoredServerEvent | StoredLocalEvent;

/**
 * What a row stores. "In flight" is not stored: a pending row named by a lease record is in flight
 * (`outboxEntriesView`, src/outbox/client/outbox-view.ts). "Delivered" is not stored either: a delivered row is
 * deleted, so a client event with no outbox row is delivered.
 */
export type OutboxStatus = 'pending' | 'dead';

export interface OutboxRow {
  readonly eventId: string;
  /** The event's global position in the event store: the order in which rows are sent. */
  readonly position: number;
  readonly streamId: string;
  readonly version: number;
  readonly type: ClientOrderEvent['type'];
  readonly status: OutboxStatus;
  readonly attempts: number;
  /** Epoch ms before which the row is not sent again (backoff); 0 when it may go at once. */
  readonly nextAttemptAt: number;
  readonly lastError: string | null;
  /** Why the row is dead (`rejected:<code>`, `bad_request`, `max_attempts`…), null otherwise. */
  readonly deadCode: string | null;
  readonly createdAt: number;
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
  /**
   * The streams of `eventIds`, so a view shows their orders as sending without reading any outbox row
   * (`summaryView`). Not indexed, so no schema version: a record written before it existed lacks it and
   * only misses that overlay until it is deleted.
   */
  readonly streamIds?: readonly string[];
}

/** The aggregate's last known state per stream: a snapshot cache and the expected version for appends. */
export interface StreamRow {
  readonly streamId: string;
  readonly version: number;
  readonly state: OrderState;
  /**
   * Set once the person discarded a dead entry of this stream: events from this version on will never reach
   * the server, so the local state folds only the versions before it and the order takes no more commands.
   * Derived from the stream's DeliveryDiscarded records, so a rebuild restores it.
   */
  readonly discardedFromVersion?: number;
  /** The reason the person gave for the discard that set `discardedFromVersion`, shown as the order's block. */
  readonly discardedReason?: string;
}

/** A handled command, so the same commandId a second time answers the first result and writes nothing. */
export interface CommandRow {
  readonly commandId: string;
  readonly streamId: string;
  readonly eventIds: readonly string[];
  readonly version: number;
  readonly handledAt: number;
}

/**
 * An order's delivery as stored: only on this device (`local`), tried and waiting to be tried again
 * (`retrying`, until `retryAt`), all delivered, or held back by a dead entry (`attention`). Facts that only
 * time changes are not stored: "sending" is derived from a live lease (`summaryView`).
 */
export type StoredSyncState = 'local' | 'retrying' | 'delivered' | 'attention';

/** What views show: the stored state, or `sending` while a live lease holds one of the order's entries. */
export type SyncState = StoredSyncState | 'sending';

export interface OrderSummary {
  readonly orderId: string;
  readonly customerName: string;
  /** Lower-cased customer name for prefix search. */
  readonly customerKey: string;
  readonly currency: string;
  readonly status: OrderStatus;
  readonly lineCount: number;
  readonly total: number;
  /**
   * As stored: an entry a lease names is not counted, so a claim writes no summary. Views show the order as
   * sending while a live lease names it (`summaryView`); the `syncState` index never finds `sending`.
   */
  readonly syncState: StoredSyncState;
  /** While `retrying`: the earliest moment one of its entries may be sent again (epoch ms); null otherwise. */
  readonly retryAt: number | null;
  readonly orderNumber: string | null;
  readonly rejection: { readonly code: string; readonly reason: string } | null;
  readonly cancellationReason: string | null;
  /** Set while a dead entry holds the stream back: what the person must resolve. */
  readonly blockedReason: string | null;
  readonly version: number;
  readonly createdAt: string;
  readonly updatedAt: string;
}

/** A summary as views show it (`summaryView`): `sending` while a live lease holds one of its entries. */
export type OrderSummaryView = Omit<OrderSummary, 'syncState'> & { readonly syncState: SyncState };

export interface TimelineEntry {
  readonly eventId: string;
  readonly kind: StoredEvent['kind'];
  readonly type: StoredEvent['type'];
  readonly version: number | null;
  readonly serverSeq: number | null;
  readonly occurredAt: string;
  /** One line a person can read ("Added 2 × Espresso beans"). */
  readonly summary: string;
}

export interface OrderDetail {
  readonly orderId: string;
  readonly lines: readonly OrderLine[];
  readonly timeline: readonly TimelineEntry[];
}

export interface MetaRow {
  readonly key: string;
  readonly value: unknown;
}

export type OutpostDb = Dexie & {
  events: EntityTable<StoredEvent, 'position'>;
  outbox: EntityTable<OutboxRow, 'eventId'>;
  leases: EntityTable<LeaseRow, 'batchId'>;
  streams: EntityTable<StreamRow, 'streamId'>;
  commands: EntityTable<CommandRow, 'commandId'>;
  orderSummaries: EntityTable<OrderSummary, 'orderId'>;
  orderDetails: EntityTable<OrderDetail, 'orderId'>;
  meta: EntityTable<MetaRow, 'key'>;
};

export const DB_NAME = 'outpost';

export interface OpenDbOptions {
  readonly name?: string;
  /**
   * IndexedDB durability for this connection. Commands use 'strict' by default: a command resolves only
   * once its events are on disk (docs/decisions.md).
   */
  readonly durability?: 'default' | 'strict' | 'relaxed';
  /** For tests: another IndexedDB factory (fake-indexeddb). */
  readonly indexedDB?: IDBFactory;
  readonly IDBKeyRange?: typeof IDBKeyRange;
}

export function openDb(options: OpenDbOptions = {}): OutpostDb {
  const db = new Dexie(options.name ?? DB_NAME, {
    chromeTransactionDurability: options.durability ?? 'strict',
    ...(options.indexedDB ? { indexedDB: options.indexedDB } : {}),
    ...(options.IDBKeyRange ? { IDBKeyRange: options.IDBKeyRange } : {}),
  }) as OutpostDb;
  db.version(1).stores({
    events: '++position, &eventId, &[streamId+version], streamId',
    outbox: '&eventId, position, [status+position], streamId, [streamId+version]',
    streams: '&streamId',
    commands: '&commandId',
    orderSummaries: '&orderId, status, syncState, updatedAt, customerKey',
    orderDetails: '&orderId',
    meta: '&key',
  });
  // Version 2: in-flight rows are named by lease records instead of rewritten, delivered rows are deleted.
  // Nothing undelivered is lost: in-flight rows become pending (the leases that held them are gone, exactly
  // as if they had expired: the server answers a resend `duplicate`), dead and pending rows stay as they are.
  db.version(2)
    .stores({ leases: '&batchId' })
    .upgrade(async (tx) => {
      const outbox = tx.table('outbox');
      await outbox
        .where('[status+position]')
        .between(['delivered', Dexie.minKey], ['delivered', Dexie.maxKey])
        .delete();
      await outbox.toCollection().modify((row: Record<string, unknown>) => {
        if (row.status === 'inflight') row.status = 'pending';
        delete row.leaseOwner;
        delete row.leaseUntil;
        delete row.deliveredAt;
      });
    });
  // Version 3: a retried order is stored as `retrying` with the time of its next attempt (`retryAt`), and
  // "sending" is only ever derived from a live lease. Every other summary gets `retryAt: null`.
  db.version(3)
    .stores({})
    .upgrade(async (tx) => {
      const summaries = tx.table('orderSummaries');
      const outbox = tx.table('outbox');
      await summaries.toCollection().modify((summary: Record<string, unknown>) => {
        summary.retryAt = null;
      });
      const retried = await summaries.where('syncState').equals('sending').toArray();
      for (const summary of retried as OrderSummary[]) {
        const rows = (await outbox
          .where('streamId')
          .equals(`order-${summary.orderId}`)
          .toArray()) as OutboxRow[];
        const times = rows.filter((row) => row.status === 'pending' && row.attempts > 0);
        const retryAt = times.length > 0 ? Math.min(...times.map((row) => row.nextAttemptAt)) : null;
        await summaries.put({ ...summary, syncState: retryAt === null ? 'local' : 'retrying', retryAt });
      }
    });
  return db;
}
