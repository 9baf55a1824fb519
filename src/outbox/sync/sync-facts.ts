import type { LeaseRow, OutboxRow } from '../client/db';
import type { OutboxDatabase } from '../storage/outbox-database';
import { readSyncMetaWithin, type SyncMeta } from './sync-meta';

/** A lease as the status needs it: until when, and how many undelivered entries it holds. */
interface LeaseFact {
  readonly until: number;
  readonly holding: number;
}

/**
 * What the database says about delivery, with no clock in it: the status (`status.ts`) and the schedule
 * (`schedule.ts`) derive everything else from it and the time, so a live query re-runs only when rows change.
 */
export interface SyncFacts {
  /** Undelivered entries: every pending row, whether a lease names it or not. */
  readonly undelivered: number;
  readonly dead: number;
  readonly oldestPendingAt: number | null;
  /** Leases that still name an undelivered row, live or passed. */
  readonly leases: readonly LeaseFact[];
  readonly meta: SyncMeta;
}

/**
 * Counts and facts from the database only, in one read transaction (so they agree with each other). A lease
 * names a batch: a few hundred rows at most.
 */
export function readSyncFacts(database: OutboxDatabase): Promise<SyncFacts> {
  return database.transact('r', ['outbox', 'leases', 'meta'], async (records) => {
    const [undelivered, dead, [first], leases, meta] = await Promise.all([
      records.countRows('pending'),
      records.countRows('dead'),
      records.pendingRows(undefined, true, 1),
      records.leases(),
      readSyncMetaWithin(records),
    ]);
    const rows = leases.length > 0 ? await records.outboxRows(leases.flatMap((lease) => lease.eventIds)) : [];
    return factsOf(undelivered, dead, first?.createdAt ?? null, leases, rows, meta);
  });
}

/** The facts from what was read: only leases that still name an undelivered row count. */
function factsOf(
  undelivered: number,
  dead: number,
  oldestPendingAt: number | null,
  leases: readonly LeaseRow[],
  rows: readonly (OutboxRow | undefined)[],
  meta: SyncMeta,
): SyncFacts {
  const pending = new Set(rows.flatMap((row) => (row?.status === 'pending' ? [row.eventId] : [])));
  const held: LeaseFact[] = [];
  for (const lease of leases) {
    const holding = lease.eventIds.filter((eventId) => pending.has(eventId)).length;
    if (holding > 0) held.push({ until: lease.until, holding });
  }
  return {
    undelivered,
    dead,
    // Rows in flight are stored as pending, so the first pending row is the oldest undelivered one.
    oldestPendingAt,
    leases: held,
    meta,
  };
}
