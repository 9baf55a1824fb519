import { type OutboxDatabase, type OutboxRecords, readModelTableNames } from '../../storage/outbox-database';
import type { StoredEvent } from '../../storage/rows';
import type { StreamTypes } from '../../stream-types';
import { readAgain } from '../sync/feed-events';
import { UNREAD_KEY, unreadCountOf } from '../sync/feed-state';
import { projectEvents } from './projections';
import { KEPT_COUNTERS_KEY, type KeptCounters, keptCounterRows } from './retention';

const PAGE_SIZE = 500;

/** The tables a rebuild derives again: snapshots, delivery facts and every stream type's read models. */
const rebuiltTables = (types: StreamTypes): string[] => [
  'streams',
  'deliveries',
  ...readModelTableNames(types),
];

/**
 * What a rebuild reads besides: the events it replays, the rows delivery facts come from, and the counter
 * sums archived streams left (`meta`).
 */
export const rebuildScope = (types: StreamTypes): string[] => [
  'events',
  'outbox',
  'leases',
  'meta',
  ...rebuiltTables(types),
];

/**
 * Throws the read models away and replays the whole event store into them, in position order and in bounded
 * pages so memory stays flat however long the history is. Call inside a transaction over `rebuildScope`:
 * nobody ever sees half a rebuild, and a failure leaves the old tables in place.
 */
export async function rebuildWithin(
  records: OutboxRecords,
  types: StreamTypes,
  pageSize = PAGE_SIZE,
  /** Told the events replayed so far after each page. */
  onReplayed?: (replayed: number) => void,
): Promise<void> {
  await records.clearTables(rebuiltTables(types));
  // Archived streams' events are gone; what they added to counters of history is kept apart, and the
  // replay adds to it (retention.ts). A table no stream type declares any more is left out.
  const kept = keptCounterRows((await records.meta(KEPT_COUNTERS_KEY)) as KeptCounters | undefined);
  for (const [table, rows] of kept) {
    if (table in types.tables) await records.putReadModelRows(table, rows);
  }
  let after = 0;
  let unread = 0;
  let replayed = 0;
  for (;;) {
    const stored = await records.eventsAfter(after, pageSize);
    const last = stored.at(-1);
    if (last?.position === undefined) break;
    // What another device wrote with a newer version of the app is read again: this build may know it now.
    const page: StoredEvent[] = stored.map((event) =>
      event.kind === 'unread' ? (readAgain(types, event) ?? event) : event,
    );
    const read = page.filter((event, index) => event !== stored[index]);
    if (read.length > 0) await records.putEvents(read);
    unread += page.filter((event) => event.kind === 'unread').length;
    // projectEvents also reads each touched stream's outbox rows, so delivery facts come back too.
    await projectEvents(records, types, page);
    after = last.position;
    replayed += page.length;
    onReplayed?.(replayed);
  }
  // Written only when it changed: a rebuild of a device that never met an unread event writes nothing new.
  if (unreadCountOf(await records.meta(UNREAD_KEY)) !== unread) await records.putMeta(UNREAD_KEY, unread);
}

/** `rebuildWithin` in a transaction of its own. */
export function rebuildReadModels(database: OutboxDatabase, pageSize = PAGE_SIZE): Promise<void> {
  return database.transact('rw', rebuildScope(database.streamTypes), (records) =>
    rebuildWithin(records, database.streamTypes, pageSize),
  );
}
