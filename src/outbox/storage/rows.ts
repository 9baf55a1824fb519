import type { EventMetadata } from '../protocol/messages';

/**
 * The rows of the outbox's database, as every storage adapter stores them and every operation reads them:
 * the event store, the outbox, leases, stream snapshots, handled commands, delivery facts, archived streams
 * and bookkeeping. The core's tables only: a stream type's read-model rows are its own (`ReadModelRow`).
 */

export interface StoredEnvelope {
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

/** The change from another device a refused command no longer held after: what happened, and where. */
export interface RefusalCause {
  readonly eventId: string;
  /** A client event another device wrote, or a decision of the server. */
  readonly kind: 'client' | 'server';
  readonly type: string;
  readonly data: unknown;
  /** The clientId that wrote it (a client event); the device and user come from the authors the feed named. */
  readonly clientId: string | null;
  readonly occurredAt: string;
}

/**
 * What a `CommandRefused` local record says: a command of this device that waited to be sent, decided again
 * after another device's change reached this stream first, no longer held. Its events were taken back.
 */
export interface RefusalFacts {
  readonly commandId: string;
  /** The command as it was given (its stream type's own); null when this device never stored it. */
  readonly command: unknown;
  /** What it had written and no longer stands, as the events were. */
  readonly events: readonly { readonly type: string; readonly data: unknown; readonly version: number }[];
  /** Why it no longer holds: its stream type's refusal (`order_not_editable`), or the core's. */
  readonly code: string;
  readonly message: string;
  readonly cause: RefusalCause | null;
}

/** The person discarded a dead entry on this device (`dead-letters.ts`). */
export interface StoredDiscardRecord extends StoredEnvelope {
  readonly kind: 'local';
  readonly type: 'DeliveryDiscarded';
  readonly data: DiscardFacts;
}

/** A command of this device no longer held once another device's change arrived first (`rebase.ts`). */
export interface StoredRefusalRecord extends StoredEnvelope {
  readonly kind: 'local';
  readonly type: 'CommandRefused';
  readonly data: RefusalFacts;
}

/**
 * A local record that is neither sent nor folded into the aggregate: it tells the person what happened to
 * their data on this device (a dead entry they chose to discard, a command that no longer held).
 */
export type StoredLocalEvent = StoredDiscardRecord | StoredRefusalRecord;

/**
 * An event this build cannot read: another device, running a newer version of the app, wrote a stream type or
 * an event version this one does not know. Kept as it came (`wire`), shown as such, never folded, and read
 * again by the rebuild that follows an update of this device (`rebuild.ts`). A client event keeps its
 * version, so its place in the stream stays taken.
 */
export interface StoredUnreadEvent extends StoredEnvelope {
  readonly kind: 'unread';
  /** How it came: a client event (it has a version) or a server decision (it has a serverSeq). */
  readonly came: 'client' | 'server';
  readonly version?: number;
  readonly serverSeq?: number;
  /** Why this build cannot read it, in the core's words (`unknown_stream_type`, `unknown_event`, …). */
  readonly reason: string;
  /** The event exactly as the feed carried it. */
  readonly wire: unknown;
}

/** Any stored event: written by a client (this one or another), decided by the server, a local record, or unread. */
export type StoredEvent = StoredClientEvent | StoredServerEvent | StoredLocalEvent | StoredUnreadEvent;

/**
 * What a row stores. "In flight" is not stored: a pending row named by a live lease record is in flight
 * (`outboxEntriesView`). "Delivered" is not stored either: a delivered row is deleted, so a client event
 * with no outbox row is delivered. A `parked` row was written under another user than the one this device
 * now sends as (`account.ts`): it waits, kept and shown, until that user signs in again.
 */
export type OutboxStatus = 'pending' | 'dead' | 'parked';

/** One outbox entry: a client event waiting to be delivered (pending, dead or parked). */
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
  /**
   * Events of this stream this build cannot read (a newer device wrote them): the state is folded without
   * them, so the stream takes no command until the device updates. Absent: none.
   */
  readonly unread?: number;
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
