import type { WireClientEvent, WireServerEvent } from '../../protocol/messages';
import { splitStreamId } from '../../stream-ids';
import type { StorageWrite } from '../storage';

/**
 * The server's outbox: one row per event the server stored (a client event it accepted, a decision it
 * appended), written by the storage in the transaction that stores the event, and published by the relay.
 * The core names no stream type: the subject is made of the stream id's prefix and the event's type.
 */

/** Every subject starts with this: the JetStream stream `OUTPOST` captures `outpost.>`. */
export const SUBJECT_PREFIX = 'outpost';

/** A row as a push writes it. */
export interface NewOutboxRow {
  readonly eventId: string;
  readonly streamId: string;
  /** `outpost.<streamType>.<eventType>`, e.g. `outpost.order.OrderConfirmed`. */
  readonly subject: string;
  /** The user who owns the stream (AUTH=users); null when sync is open. Sent as a header. */
  readonly owner: string | null;
  /** The event exactly as stored, as JSON: a client event's envelope, or a decision with its serverSeq. */
  readonly body: string;
}

/** A row as stored: numbered in the order the storage wrote rows, stamped when written. */
export interface OutboxRow extends NewOutboxRow {
  readonly position: number;
  readonly createdAt: number;
  /**
   * Its number in its stream's rows: 1, 2, 3… in the order they were written, taken from a counter per stream
   * in the row's transaction (pruning never resets it). Null for a row written before the outbox numbered them.
   */
  readonly streamSeq: number | null;
}

// NATS subject tokens: no dots, wildcards or white space. Stream type names are letters and digits already.
const TOKEN = /^[A-Za-z0-9_-]+$/;

/** The subject an event of `streamId` with `eventType` is published on. */
export function subjectFor(streamId: string, eventType: string): string {
  const streamType = splitStreamId(streamId)?.name;
  if (streamType === undefined) throw new Error(`${streamId} is not a stream id`);
  if (!TOKEN.test(eventType)) {
    throw new Error(
      `Event type ${JSON.stringify(eventType)} cannot be a subject token (letters, digits, _ and -)`,
    );
  }
  return `${SUBJECT_PREFIX}.${streamType}.${eventType}`;
}

/** What a subject names: the stream type and the event type; null when it is not an outbox subject. */
export function parseSubject(
  subject: string,
): { readonly streamType: string; readonly eventType: string } | null {
  const [prefix, streamType, eventType, ...rest] = subject.split('.');
  if (prefix !== SUBJECT_PREFIX || !streamType || !eventType || rest.length > 0) return null;
  return { streamType, eventType };
}

const clientRow = (event: WireClientEvent, owner: string | null): NewOutboxRow => ({
  eventId: event.eventId,
  streamId: event.streamId,
  subject: subjectFor(event.streamId, event.type),
  owner,
  body: JSON.stringify(event),
});

const serverRow = (event: WireServerEvent, owner: string | null): NewOutboxRow => ({
  eventId: event.eventId,
  streamId: event.streamId,
  subject: subjectFor(event.streamId, event.type),
  owner,
  body: JSON.stringify(event),
});

/**
 * The outbox rows of one push's write, in the order they are stored: the accepted client events in the
 * write's order (each stream's versions ascending), then the decisions they caused. A decision follows the
 * event that caused it, so a stream's rows are in the order its events happened. The owner is the write's:
 * under AUTH=users every event a push stores is on a stream its user owns or claims in that write.
 */
export function outboxRowsOf(changes: StorageWrite): NewOutboxRow[] {
  const owner = changes.claims?.owner ?? null;
  return [
    ...(changes.clientEvents ?? []).map((event) => clientRow(event, owner)),
    ...(changes.serverEvents ?? []).map((event) => serverRow(event, owner)),
  ];
}
