import * as v from 'valibot';
import type { FeedEvent } from '../../protocol/feed';
import type { StoredClientEvent, StoredServerEvent, StoredUnreadEvent } from '../../storage/rows';
import type { StreamTypes } from '../../stream-types';

/**
 * A feed event as this build reads it: a client or server event of a stream type it knows, in an event version
 * it knows, checked by that type's own schema; anything else (a newer device's stream type, event or event
 * version) is kept unread, never refused: the page goes on, and an update of this device reads it
 * (`rebuild.ts`). Pure.
 */
export type ArrivingEvent = StoredClientEvent | StoredServerEvent | StoredUnreadEvent;

/** Why an event is unread, as a code the UI words. */
export type UnreadReason = 'unknown_stream_type' | 'newer_event_version' | 'unknown_event';

export function readFeedEvent(types: StreamTypes, event: FeedEvent): ArrivingEvent {
  const occurredAt = event.kind === 'client' ? event.metadata.occurredAt : event.occurredAt;
  const unread = (reason: UnreadReason): StoredUnreadEvent => ({
    kind: 'unread',
    came: event.kind,
    eventId: event.eventId,
    streamId: event.streamId,
    type: event.type,
    schemaVersion: event.kind === 'client' ? event.schemaVersion : 1,
    data: event.data,
    occurredAt,
    reason,
    wire: event,
    ...(event.kind === 'client' ? { version: event.version } : { serverSeq: event.serverSeq }),
  });
  const stream = types.parse(event.streamId);
  if (!stream) return unread('unknown_stream_type');
  if (event.kind === 'client') {
    if (event.schemaVersion !== 1) return unread('newer_event_version');
    const payload = v.safeParse(stream.type.events, { type: event.type, data: event.data });
    if (!payload.success) return unread('unknown_event');
    const checked = payload.output as { type: string; data: unknown };
    return {
      kind: 'client',
      eventId: event.eventId,
      streamId: event.streamId,
      version: event.version,
      type: checked.type,
      schemaVersion: 1,
      data: checked.data,
      metadata: event.metadata,
      occurredAt,
    };
  }
  const payload = v.safeParse(stream.type.serverEvents, { type: event.type, data: event.data });
  if (!payload.success) return unread('unknown_event');
  const checked = payload.output as { type: string; data: unknown };
  return {
    kind: 'server',
    eventId: event.eventId,
    streamId: event.streamId,
    serverSeq: event.serverSeq,
    type: checked.type,
    schemaVersion: 1,
    data: checked.data,
    occurredAt,
  };
}

/**
 * An unread event read again by this build (after an update): the client or server event it is now, at its
 * position, or null while this build cannot read it either.
 */
export function readAgain(
  types: StreamTypes,
  stored: StoredUnreadEvent,
): StoredClientEvent | StoredServerEvent | null {
  const wire = stored.wire as FeedEvent;
  const read = readFeedEvent(types, wire);
  if (read.kind === 'unread') return null;
  return stored.position === undefined ? read : { ...read, position: stored.position };
}
