import { combineLatest, distinctUntilChanged, map, Observable, of } from 'rxjs';
import { nextWakeAt, type WakeFacts } from '../device/sync/schedule';
import {
  type StatusStorage,
  SYNC_FACTS_TABLES,
  type SyncFacts,
  statusStorage,
} from '../device/sync/sync-facts';

export type { SyncFacts } from '../device/sync/sync-facts';

import type { Clock } from '../ids';
import type { OutpostDb } from './database';
import { liveRead } from './live-read';
import { overTime } from './over-time';

/**
 * Where delivery stands, in one word, for every context that opens the database (whoever is flushing):
 * - `auth`: a 401/403 paused sync until someone signs in; nothing is lost.
 * - `idle`: nothing undelivered (dead entries, if any, wait for the person and are counted apart).
 * - `offline`: entries wait and this device has no network.
 * - `syncing`: a live flusher holds an unexpired lease on some of them.
 * - `retrying`: they wait for a known moment (`nextAttemptAt`): backoff, Retry-After, a lease to pass.
 * - `held`: the only ones left wait behind entries that need the person (dead letters).
 * - `parked`: nothing waits but entries another user wrote: they go when that user signs in again.
 * - `due`: they may go now and a flush is about to take them (a command just committed, a wait just ran out).
 * Never `idle` while anything waits: that is the one lie the status bar must not tell.
 */
export type SyncPhase = 'auth' | 'idle' | 'offline' | 'syncing' | 'retrying' | 'held' | 'parked' | 'due';

/** What a person needs to know about delivery, derived the same way in every context that opens the database. */
export interface SyncStatus {
  readonly phase: SyncPhase;
  readonly online: boolean;
  /** A live flusher holds an unexpired lease (in this context or another). */
  readonly syncing: boolean;
  /** Undelivered entries not in flight. */
  readonly pending: number;
  /** Undelivered entries under a live lease. */
  readonly inflight: number;
  readonly dead: number;
  /** Age of the oldest undelivered (pending or in-flight) entry when the status was computed. */
  readonly oldestPendingAgeMs: number | null;
  /** When that entry was written, so a view can keep the age current without a new query. */
  readonly oldestPendingAt: number | null;
  readonly lastSuccessAt: number | null;
  readonly lastError: string | null;
  /** When the schedule next tries (the `retrying` phase); null when it is not waiting for a time. */
  readonly nextAttemptAt: number | null;
  /** The last request could not reach the server at all (not an answer refusing it): it probes for it. */
  readonly unreachable: boolean;
  readonly authRequired: boolean;
  /** Who the device sends as (null: nobody signed in). */
  readonly user: string | null;
  /** Someone has signed in on this device before: its server has sign-in, so a way in stays on screen. */
  readonly signInKnown: boolean;
  /** Entries another user wrote, waiting for them to sign in again, and who they are. */
  readonly parked: number;
  readonly parkedFor: readonly string[];
  /** While `auth`: streams of each type with something to send ("Sign in to send 3 orders"). */
  readonly unsentStreams: Readonly<Record<string, number>> | null;
  /** While a new device's history loads: how many streams so far, of how many (null: not known yet). */
  readonly history: { readonly loaded: number; readonly total: number | null } | null;
  /** The server said this browser's database vanished since its last visit: what it was then. */
  readonly vanished: SyncFacts['vanished'];
  /** Changes another device made with a newer version of the app, kept here until this one updates. */
  readonly unread: number;
}

/** The facts the schedule decides on (`nextWakeAt`), shared with the page's timer so both agree. */
export function wakeFactsOf(facts: SyncFacts): WakeFacts {
  return {
    undelivered: facts.undelivered,
    gateUntil: facts.meta.nextAttemptAt,
    retryAt: facts.meta.retryAt,
    // Stored by whoever failed to reach the server, by its own policy (`failures.ts`).
    probeAt: facts.meta.unreachableSince === null ? null : facts.meta.probeAt,
    leaseUntils: facts.leases.map((lease) => lease.until),
    authRequired: facts.meta.authRequired,
    pullOwed: facts.meta.pullOwed,
  };
}

export function deriveSyncStatus(facts: SyncFacts, online: boolean, now: number): SyncStatus {
  const { meta } = facts;
  // A flusher that died stops counting as syncing the moment its lease passes.
  const inflight = facts.leases.reduce((sum, lease) => sum + (lease.until > now ? lease.holding : 0), 0);
  const wake = nextWakeAt(wakeFactsOf(facts), now);
  const waitingFor = wake !== null && wake > now ? wake : null;
  return {
    phase: phaseOf(facts, online, inflight > 0, waitingFor),
    online,
    syncing: inflight > 0,
    pending: facts.undelivered - inflight,
    inflight,
    dead: facts.dead,
    oldestPendingAgeMs: facts.oldestPendingAt === null ? null : Math.max(0, now - facts.oldestPendingAt),
    oldestPendingAt: facts.oldestPendingAt,
    lastSuccessAt: meta.lastSuccessAt,
    lastError: meta.lastError,
    nextAttemptAt: waitingFor,
    unreachable: meta.unreachableSince !== null,
    authRequired: meta.authRequired,
    user: facts.account.user,
    signInKnown: Object.keys(facts.account.clientIds).length > 0,
    parked: facts.parked,
    parkedFor: facts.account.parkedFor,
    unsentStreams: facts.unsentStreams,
    history:
      facts.catchUp && !facts.catchUp.done
        ? { loaded: facts.catchUp.loaded, total: facts.catchUp.total }
        : null,
    vanished: facts.vanished,
    unread: facts.unread,
  };
}

function phaseOf(facts: SyncFacts, online: boolean, syncing: boolean, waitingFor: number | null): SyncPhase {
  if (facts.meta.authRequired) return 'auth';
  if (facts.undelivered === 0) return facts.parked > 0 ? 'parked' : 'idle';
  if (!online) return 'offline';
  if (syncing) return 'syncing';
  if (waitingFor !== null) return 'retrying';
  return facts.dead > 0 ? 'held' : 'due';
}

/** When time alone next changes the derived status: a lease passing, a wait running out. */
export function nextStatusChange(facts: SyncFacts, now: number): number | null {
  let next: number | null = null;
  const consider = (at: number | null) => {
    if (at !== null && at > now) next = Math.min(next ?? at, at);
  };
  for (const lease of facts.leases) consider(lease.until);
  consider(nextWakeAt(wakeFactsOf(facts), now));
  return next;
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
 * The stored facts as an observable (`liveRead`), read through the storage port's status part: read again
 * after every committed write, whoever made it
 * (this page, another tab, the service worker), at most once a frame, so a burst of commands costs the
 * status one read per frame instead of one per command. A failed read ends it (the caller reads again).
 */
export function liveSyncFacts(
  db: OutpostDb,
  storage: StatusStorage = statusStorage(db),
): Observable<SyncFacts> {
  return new Observable<SyncFacts>((subscriber) =>
    liveRead(
      db,
      () => storage.readSyncFacts(),
      { next: (facts) => subscriber.next(facts), error: (error) => subscriber.error(error) },
      // What readSyncFacts reads; the same facts twice re-arm nothing (the schedule's timer follows them).
      { tables: SYNC_FACTS_TABLES },
    ),
  );
}

/**
 * The sync status, derived from the stored facts and the network, and derived again as time passes (a
 * lease running out, a retry time arriving) even when no row changes.
 */
export function liveSyncStatus(
  facts$: Observable<SyncFacts>,
  clock: Clock,
  online$: Observable<boolean>,
): Observable<SyncStatus> {
  return combineLatest([facts$, online$]).pipe(
    map(([facts, online]) => ({ facts, online })),
    overTime(
      ({ facts, online }, now) => deriveSyncStatus(facts, online, now),
      ({ facts }, now) => nextStatusChange(facts, now),
      () => clock.now(),
    ),
  );
}
