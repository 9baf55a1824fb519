import Dexie, { liveQuery } from 'dexie';
import { combineLatest, distinctUntilChanged, from, map, Observable, of } from 'rxjs';
import type { Clock } from '../platform/ids';
import type { OutboxRow, OutpostDb } from '../store/db';
import { leasedEventIds, outboxEntriesView } from '../store/outbox-view';
import { readSyncMeta, type SyncMeta } from './sync-meta';

/** What a person needs to know about delivery, derived the same way in every context that opens the database. */
export interface SyncStatus {
  readonly online: boolean;
  /** A flusher holds a live claim (in this context or another). */
  readonly syncing: boolean;
  readonly pending: number;
  readonly inflight: number;
  readonly dead: number;
  /** Age of the oldest undelivered (pending or in-flight) entry when the status was computed. */
  readonly oldestPendingAgeMs: number | null;
  /** When that entry was written, so a view can keep the age current without a new query. */
  readonly oldestPendingAt: number | null;
  readonly lastSuccessAt: number | null;
  readonly lastError: string | null;
  /** When the engine will send again after a transient failure; null when it is not waiting. */
  readonly nextAttemptAt: number | null;
  readonly authRequired: boolean;
}

interface StoredFacts {
  readonly pending: number;
  readonly inflight: number;
  readonly dead: number;
  readonly oldestPendingAt: number | null;
  /** The latest `until` among leases that still name an undelivered row; null when none does. */
  readonly leaseUntil: number | null;
  readonly meta: SyncMeta;
}

const byStatus = (db: OutpostDb, status: OutboxRow['status']) =>
  db.outbox.where('[status+position]').between([status, Dexie.minKey], [status, Dexie.maxKey]);

/**
 * Counts and facts from the database only; no clock, so liveQuery re-runs only when the rows change. In flight
 * is derived from the lease records (`outboxEntriesView`): pending rows a lease names; the rest of the pending
 * rows are waiting.
 */
export async function readSyncFacts(db: OutpostDb): Promise<StoredFacts> {
  const [stored, dead, first, leases, meta] = await Promise.all([
    byStatus(db, 'pending').count(),
    byStatus(db, 'dead').count(),
    byStatus(db, 'pending').first(),
    db.leases.toArray(),
    readSyncMeta(db),
  ]);
  // A lease names a batch (a few hundred rows at most); rows delivered meanwhile are gone and do not count.
  const rows = leases.length > 0 ? await db.outbox.bulkGet([...leasedEventIds(leases)]) : [];
  const inflight = outboxEntriesView(
    rows.filter((row): row is OutboxRow => row !== undefined),
    leases,
  ).filter((entry) => entry.status === 'inflight');
  const named = new Set(inflight.map((entry) => entry.eventId));
  const holding = leases.filter((lease) => lease.eventIds.some((eventId) => named.has(eventId)));
  return {
    pending: stored - inflight.length,
    inflight: inflight.length,
    dead,
    // In flight rows are still stored as pending, so the first pending row is the oldest undelivered one.
    oldestPendingAt: first?.createdAt ?? null,
    leaseUntil: holding.length > 0 ? Math.max(...holding.map((lease) => lease.until)) : null,
    meta,
  };
}

export function deriveSyncStatus(facts: StoredFacts, online: boolean, now: number): SyncStatus {
  const { meta } = facts;
  return {
    online,
    // A flusher that died stops counting as syncing once its lease passes.
    syncing: facts.leaseUntil !== null && facts.leaseUntil > now && facts.inflight > 0,
    pending: facts.pending,
    inflight: facts.inflight,
    dead: facts.dead,
    oldestPendingAgeMs: facts.oldestPendingAt === null ? null : Math.max(0, now - facts.oldestPendingAt),
    oldestPendingAt: facts.oldestPendingAt,
    lastSuccessAt: meta.lastSuccessAt,
    lastError: meta.lastError,
    nextAttemptAt: meta.nextAttemptAt !== null && meta.nextAttemptAt > now ? meta.nextAttemptAt : null,
    authRequired: meta.authRequired,
  };
}

/** navigator.onLine and its events where they exist (page or worker); elsewhere, assume online. */
export function browserOnline$(): Observable<boolean> {
  // EventTarget rather than Window: the same code runs in a service worker, whose lib has no Window.
  const scope = globalThis as typeof globalThis &
    Partial<Pick<EventTarget, 'addEventListener' | 'removeEventListener'>>;
  if (typeof navigator === 'undefined' || typeof navigator.onLine !== 'boolean' || !scope.addEventListener) {
    return of(true);
  }
  return new Observable<boolean>((subscriber) => {
    const update = () => subscriber.next(navigator.onLine);
    update();
    scope.addEventListener?.('online', update);
    scope.addEventListener?.('offline', update);
    return () => {
      scope.removeEventListener?.('online', update);
      scope.removeEventListener?.('offline', update);
    };
  }).pipe(distinctUntilChanged());
}

/**
 * The sync status as an observable over Dexie `liveQuery`: it re-emits whenever the outbox or the persisted
 * engine facts change, whoever changed them (this page, another tab, the service worker).
 */
export function liveSyncStatus(
  db: OutpostDb,
  clock: Clock,
  online$?: Observable<boolean>,
): Observable<SyncStatus> {
  const facts$ = from(liveQuery(() => readSyncFacts(db)));
  return combineLatest([facts$, online$ ?? browserOnline$()]).pipe(
    map(([facts, online]) => deriveSyncStatus(facts, online, clock.now())),
  );
}
