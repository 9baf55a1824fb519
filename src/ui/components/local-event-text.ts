import type { StoredEvent } from '../../outbox/page';

/** What the core's own records say, in every stream type's timeline. */
export function describeLocalEvent(event: StoredEvent): string | null {
  if (event.kind !== 'local') return null;
  if (event.type === 'CommandRefused') return `No longer applies: ${event.data.message}`;
  const { eventType, version, reason } = event.data;
  return `Discarded ${eventType} (version ${version}) on this device: ${reason}`;
}
