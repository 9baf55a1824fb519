import type { StoredClientEvent, StoredEvent, StoredServerEvent } from '../outbox';
import type { ClientStockCountEvent, ServerStockCountEvent } from './domain/events';
import { STOCKCOUNT } from './stream-ids';

/** A stock count's event as the event store holds it, with its type and payload known. */
export type StoredStockCountEvent =
  | (Omit<StoredClientEvent, 'type' | 'data'> & ClientStockCountEvent)
  | (Omit<StoredServerEvent, 'type' | 'data'> & ServerStockCountEvent);

/**
 * The event as a stock count's, or null for another stream type's (or a local record). Safe because nothing
 * enters a count's stream without passing the count's schemas: the command pipeline, and the wire checks.
 */
export function countEventOf(event: StoredEvent): StoredStockCountEvent | null {
  if (event.kind === 'local' || !event.streamId.startsWith(`${STOCKCOUNT}-`)) return null;
  return event as unknown as StoredStockCountEvent;
}
