import { ALL_ROWS, type OutboxDatabase } from '../../storage/outbox-database';
import type { LeaseRow, OutboxRow } from '../../storage/rows';
import { splitStreamId } from '../../stream-ids';
import { type Account, readAccountWithin } from './account';
import {
  CATCH_UP_KEY,
  type CatchUp,
  parseCatchUp,
  readVanished,
  UNREAD_KEY,
  unreadCountOf,
  VANISHED_KEY,
  type Vanished,
} from './feed-facts';
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
  /** Entries written by another user than the one signed in: they wait for that user (`account.ts`). */
  readonly parked: number;
  readonly account: Account;
  /**
   * While sync waits for a sign-in: how many streams of each type have entries to send ("Sign in to send
   * 3 orders"); null otherwise, so the count costs a read of the pending rows only while it is shown.
   */
  readonly unsentStreams: Readonly<Record<string, number>> | null;
  /** A new device's history as it loads (`catch-up.ts`); null when none was ever read here. */
  readonly catchUp: CatchUp | null;
  /** The server said this browser's database vanished since its last visit, and the person has not read it yet. */
  readonly vanished: Vanished | null;
  /** Events kept unread: a newer version of the app wrote them on another device. */
  readonly unread: number;
}

/** The tables the facts come from: a write to any other leaves them as they were. */
export const SYNC_FACTS_TABLES = ['outbox', 'leases', 'meta'] as const;

/**
 * Counts and facts from the database only, in one read transaction (so they agree with each other). A lease
 * names a batch: a few hundred rows at most.
 */
export function readSyncFacts(database: OutboxDatabase): Promise<SyncFacts> {
  return database.transact('r', SYNC_FACTS_TABLES, async (records) => {
    const [undelivered, dead, parked, [first], leases, meta, account, catchUp, vanished, unread] =
      await Promise.all([
        records.countRows('pending'),
        records.countRows('dead'),
        records.countRows('parked'),
        records.pendingRows(undefined, true, 1),
        records.leases(),
        readSyncMetaWithin(records),
        readAccountWithin(records),
        records.meta(CATCH_UP_KEY),
        records.meta(VANISHED_KEY),
        records.meta(UNREAD_KEY),
      ]);
    const [rows, unsent] = await Promise.all([
      leases.length > 0 ? records.outboxRows(leases.flatMap((lease) => lease.eventIds)) : [],
      meta.authRequired ? records.pendingRows(undefined, true, ALL_ROWS) : null,
    ]);
    return {
      ...factsOf(undelivered, dead, first?.createdAt ?? null, leases, rows, meta),
      parked,
      account,
      unsentStreams: unsent === null ? null : streamsByType(unsent),
      catchUp: parseCatchUp(catchUp),
      vanished: readVanished(vanished),
      unread: unreadCountOf(unread),
    };
  });
}

/** How many distinct streams of each stream type the rows belong to. */
function streamsByType(rows: readonly OutboxRow[]): Record<string, number> {
  const counts: Record<string, number> = {};
  const seen = new Set<string>();
  for (const { streamId } of rows) {
    if (seen.has(streamId)) continue;
    seen.add(streamId);
    const type = splitStreamId(streamId)?.name;
    if (type !== undefined) counts[type] = (counts[type] ?? 0) + 1;
  }
  return counts;
}

/** The facts from what was read: only leases that still name an undelivered row count. */
function factsOf(
  undelivered: number,
  dead: number,
  oldestPendingAt: number | null,
  leases: readonly LeaseRow[],
  rows: readonly (OutboxRow | undefined)[],
  meta: SyncMeta,
): Omit<SyncFacts, 'parked' | 'account' | 'unsentStreams' | 'catchUp' | 'vanished' | 'unread'> {
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

/** What the sync status reads. */
export interface StatusStorage {
  /** Counts, the oldest undelivered entry, the leases holding rows and the sync facts, read together. */
  readSyncFacts(): Promise<SyncFacts>;
}

/** The status part of the storage port over a database (`outbox-storage.ts`). */
export function statusStorage(database: OutboxDatabase): StatusStorage {
  return { readSyncFacts: () => readSyncFacts(database) };
}
