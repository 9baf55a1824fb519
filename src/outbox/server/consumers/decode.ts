import { parseClientEvent, parseServerEvent } from '../../protocol/messages';
import type { ClientEventOf, DomainEvent, ServerEventOf } from '../../stream-type';
import { parseSubject } from '../relay/outbox-rows';
import type { Delivery } from './delivery';
import type { ReactionRegistry } from './reaction-registry';

/** An outbox message read back: the event as its stream type's reactions see it. */
export interface ConsumedEvent {
  readonly eventId: string;
  readonly streamId: string;
  readonly streamType: string;
  readonly event: ClientEventOf<DomainEvent> | ServerEventOf<DomainEvent>;
}

/** Why a message can never be applied: the consumer parks it after its attempts. */
export type Decoded =
  | { readonly ok: true; readonly value: ConsumedEvent }
  | { readonly ok: false; readonly reason: string };

const refuse = (reason: string): Decoded => ({ ok: false, reason });

/**
 * Checks a message the way the server checked the event before storing it: JSON, the protocol's envelope,
 * the stream type's schemas, and a subject that names the same stream type and event type as the body.
 */
export function decodeDelivery(
  delivery: Pick<Delivery, 'subject' | 'body' | 'messageId'>,
  registry: ReactionRegistry,
): Decoded {
  const subject = parseSubject(delivery.subject);
  if (subject === null) return refuse(`${delivery.subject} is not an outbox subject`);
  if (!registry.byName(subject.streamType)) return refuse(`unknown stream type ${subject.streamType}`);
  let raw: unknown;
  try {
    raw = JSON.parse(delivery.body);
  } catch {
    return refuse('the body is not JSON');
  }
  const isDecision = typeof raw === 'object' && raw !== null && 'serverSeq' in raw;
  let event: ConsumedEvent['event'];
  if (isDecision) {
    const parsed = parseServerEvent(registry.streamTypes, raw);
    if (parsed === null) return refuse('the body is not a decision of its stream type');
    const { eventId, streamId, serverSeq, occurredAt, type, data } = parsed;
    event = { kind: 'server', eventId, streamId, serverSeq, occurredAt, type, data };
  } else {
    const parsed = parseClientEvent(registry.streamTypes, raw);
    if (!parsed.ok) return refuse(`the body is not an event of its stream type: ${parsed.error.reason}`);
    const { eventId, streamId, version, type, data, metadata } = parsed.value;
    event = { kind: 'client', eventId, streamId, version, occurredAt: metadata.occurredAt, type, data };
  }
  const streamType = registry.streamTypes.parse(event.streamId)?.type.name;
  if (streamType !== subject.streamType || event.type !== subject.eventType) {
    return refuse(
      `the subject ${delivery.subject} does not match the body's ${event.streamId} ${event.type}`,
    );
  }
  if (delivery.messageId !== undefined && delivery.messageId !== event.eventId) {
    return refuse(`the message id ${delivery.messageId} is not the body's eventId ${event.eventId}`);
  }
  return { ok: true, value: { eventId: event.eventId, streamId: event.streamId, streamType, event } };
}
