import type { RefusalFacts, StoredEvent, StoredRefusalRecord } from '../../outbox/page';
import { formatClock } from '../format';

/** Who wrote with which clientId, as the feed named them, and which clientIds are this device's. */
export interface Origins {
  readonly authors: Readonly<
    Record<string, { readonly user: string | null; readonly device: string | null }>
  >;
  readonly ownClientIds: readonly string[];
}

/** "this device", or "Counter tablet (alice)": where a client event was written; null for others. */
export function whereWritten(clientId: string | null, origins: Origins): string | null {
  if (clientId === null) return null;
  if (origins.ownClientIds.includes(clientId)) return 'this device';
  const author = origins.authors[clientId];
  const device = author?.device ?? 'another device';
  return author?.user ? `${device} (${author.user})` : device;
}

/** The line under an event that says where it came from. */
export function originText(event: StoredEvent, origins: Origins): string | null {
  if (event.kind === 'client') return `On ${whereWritten(event.metadata.clientId, origins)}`;
  if (event.kind === 'unread') {
    return 'Written by a newer version of Outpost on another device: kept here, shown once this device updates';
  }
  return null;
}

/** An event as the stream type's `describe` reads it, from what a refusal kept of it. */
const asEvent = (streamId: string, type: string, data: unknown): StoredEvent =>
  ({
    kind: 'client',
    type,
    data,
    streamId,
    eventId: '',
    version: 0,
    schemaVersion: 1,
    occurredAt: '',
  }) as unknown as StoredEvent;

/**
 * A refused command in a sentence: what it did, why it no longer applies, and what happened where first:
 * "Added 2 × Espresso beans no longer applies: a cancelled order can no longer change its products.
 * Cancelled: out of stock, on Counter tablet (alice) at 14:02, before this change arrived."
 */
export function refusalText(
  record: StoredRefusalRecord,
  describe: (event: StoredEvent) => string,
  origins: Origins,
): { readonly what: string; readonly why: string; readonly first: string | null } {
  const facts: RefusalFacts = record.data;
  const what =
    facts.events.map((event) => describe(asEvent(record.streamId, event.type, event.data))).join('; ') ||
    'A change';
  const cause = facts.cause;
  const where =
    cause?.kind === 'server'
      ? 'by the server'
      : `on ${whereWritten(cause?.clientId ?? null, origins) ?? 'another device'}`;
  const first = cause
    ? `${describe(asEvent(record.streamId, cause.type, cause.data))}, ${where} at ${formatClock(Date.parse(cause.occurredAt))}, before this change arrived.`
    : null;
  return { what, why: facts.message, first };
}
