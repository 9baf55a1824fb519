import type { StoredClientEvent, StoredEvent, StoredServerEvent } from '../outbox';
import type { ClientOrderEvent, ServerOrderEvent } from './domain/events';
import { ORDER } from './stream-ids';

/** An order's event as the event store holds it, with its type and payload known. */
export type StoredOrderEvent =
  | (Omit<StoredClientEvent, 'type' | 'data'> & ClientOrderEvent)
  | (Omit<StoredServerEvent, 'type' | 'data'> & ServerOrderEvent);

/**
 * The event as an order's, or null for another stream type's (or a local record). Safe because nothing
 * enters an order's stream without passing the order's schemas: the command pipeline, and the wire checks.
 */
export function orderEventOf(event: StoredEvent): StoredOrderEvent | null {
  if (event.kind === 'local' || !event.streamId.startsWith(`${ORDER}-`)) return null;
  return event as unknown as StoredOrderEvent;
}
