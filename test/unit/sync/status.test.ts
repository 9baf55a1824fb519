import fc from 'fast-check';
import { BehaviorSubject, filter, firstValueFrom, type Observable, timeout } from 'rxjs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { initialAccount } from '../../../src/outbox/device/sync/account';
import { initialSyncMeta, type SyncMeta } from '../../../src/outbox/device/sync/sync-meta';
import { NO_FAULTS } from '../../../src/outbox/mock/faults';
import {
  deriveSyncStatus,
  liveSyncFacts,
  liveSyncStatus,
  type SyncFacts,
  type SyncStatus,
} from '../../../src/outbox/page/status';
import { openTestDb } from '../../support/app-db';
import { setupSyncTestServer } from './harness';

const { setup } = setupSyncTestServer({ seed: 21 });

const next = (status$: Observable<SyncStatus>, predicate: (status: SyncStatus) => boolean) =>
  firstValueFrom(status$.pipe(filter(predicate), timeout(3_000)));

const NOW = 1_000_000;
const facts = (
  overrides: Partial<Omit<SyncFacts, 'meta'>> & { meta?: Partial<SyncMeta> } = {},
): SyncFacts => ({
  undelivered: 0,
  dead: 0,
  oldestPendingAt: null,
  leases: [],
  parked: 0,
  account: initialAccount,
  unsentStreams: null,
  catchUp: null,
  vanished: null,
  unread: 0,
  ...overrides,
  meta: { ...initialSyncMeta, ...overrides.meta },
});

describe('the status, derived from stored facts and the time', () => {
  it('is idle only when nothing is undelivered', () => {
    expect(deriveSyncStatus(facts(), true, NOW).phase).toBe('idle');
    // Dead entries wait for the person, not for sync: counted, but nothing is on its way.
    expect(deriveSyncStatus(facts({ dead: 2 }), true, NOW)).toMatchObject({ phase: 'idle', dead: 2 });
  });

  it('is syncing only under a live lease: a dead flusher stops counting the moment its lease passes', () => {
    const leased = facts({ undelivered: 5, leases: [{ until: NOW + 1, holding: 3 }] });
    expect(deriveSyncStatus(leased, true, NOW)).toMatchObject({
      phase: 'syncing',
      syncing: true,
      inflight: 3,
      pending: 2,
    });
    // The same stored facts a moment later: the lease passed, nobody holds the rows, and the schedule wakes
    // now (a passed lease is due), so nothing claims to be in flight and nothing claims to be idle.
    expect(deriveSyncStatus(leased, true, NOW + 1)).toMatchObject({
      phase: 'due',
      syncing: false,
      inflight: 0,
      pending: 5,
    });
  });

  it('says until when it waits: the gate of a failed request, or the backoff a flush left on a lane', () => {
    expect(
      deriveSyncStatus(facts({ undelivered: 1, meta: { nextAttemptAt: NOW + 5_000 } }), true, NOW),
    ).toMatchObject({ phase: 'retrying', nextAttemptAt: NOW + 5_000 });
    expect(
      deriveSyncStatus(facts({ undelivered: 1, meta: { retryAt: NOW + 7_000 } }), true, NOW),
    ).toMatchObject({ phase: 'retrying', nextAttemptAt: NOW + 7_000 });
    // Once the time passed the wait is over: a flush is due, not "retrying at" a time in the past.
    expect(
      deriveSyncStatus(facts({ undelivered: 1, meta: { nextAttemptAt: NOW - 1 } }), true, NOW),
    ).toMatchObject({ phase: 'due', nextAttemptAt: null });
  });

  it('is offline, held back behind dead letters, or paused for sign-in', () => {
    expect(deriveSyncStatus(facts({ undelivered: 1, meta: { retryAt: NOW + 1 } }), false, NOW).phase).toBe(
      'offline',
    );
    expect(deriveSyncStatus(facts({ undelivered: 2, dead: 1 }), true, NOW).phase).toBe('held');
    expect(deriveSyncStatus(facts({ undelivered: 2, meta: { authRequired: true } }), true, NOW).phase).toBe(
      'auth',
    );
  });

  it('never says idle while entries wait and the device is online', () => {
    const lease = fc.record({
      until: fc.integer({ min: NOW - 60_000, max: NOW + 60_000 }),
      holding: fc.nat(50),
    });
    const time = fc.option(fc.integer({ min: NOW - 60_000, max: NOW + 60_000 }), { nil: null });
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1_000 }),
        fc.nat(10),
        fc.array(lease, { maxLength: 4 }),
        time,
        time,
        fc.boolean(),
        (undelivered, dead, leases, gate, retryAt, authRequired) => {
          const status = deriveSyncStatus(
            facts({ undelivered, dead, leases, meta: { nextAttemptAt: gate, retryAt, authRequired } }),
            true,
            NOW,
          );
          expect(status.phase).not.toBe('idle');
          expect(status.pending + status.inflight).toBe(undelivered);
        },
      ),
    );
  });
});

describe('liveSyncStatus over time', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('re-derives when a lease passes or a retry time arrives, with no new facts', async () => {
    vi.useFakeTimers({ now: NOW });
    const facts$ = new BehaviorSubject(
      facts({
        undelivered: 3,
        leases: [{ until: NOW + 10_000, holding: 3 }],
        meta: { retryAt: NOW + 25_000 },
      }),
    );
    const seen: SyncStatus[] = [];
    const subscription = liveSyncStatus(
      facts$,
      { now: () => Date.now() },
      new BehaviorSubject(true),
    ).subscribe((status) => seen.push(status));
    expect(seen.at(-1)?.phase).toBe('syncing');
    await vi.advanceTimersByTimeAsync(9_999);
    expect(seen.at(-1)?.phase).toBe('syncing');
    // The flusher died: its lease passes and the status says so, though no row changed.
    await vi.advanceTimersByTimeAsync(1);
    expect(seen.at(-1)).toMatchObject({ phase: 'due', syncing: false, pending: 3 });
    subscription.unsubscribe();
    facts$.next(facts({ undelivered: 3, meta: { retryAt: NOW + 25_000 } }));
    const again = liveSyncStatus(facts$, { now: () => Date.now() }, new BehaviorSubject(true)).subscribe(
      (status) => seen.push(status),
    );
    expect(seen.at(-1)).toMatchObject({ phase: 'retrying', nextAttemptAt: NOW + 25_000 });
    await vi.advanceTimersByTimeAsync(15_000);
    expect(seen.at(-1)).toMatchObject({ phase: 'due', nextAttemptAt: null });
    again.unsubscribe();
  });
});

describe('liveSyncStatus on the database', () => {
  it('follows the outbox and the engine through failure, backoff and delivery', async () => {
    const { client, clock, backend } = setup();
    const online$ = new BehaviorSubject(true);
    const status$ = liveSyncStatus(liveSyncFacts(client.db), clock, online$);

    expect(await next(status$, () => true)).toEqual({
      phase: 'idle',
      online: true,
      syncing: false,
      pending: 0,
      inflight: 0,
      dead: 0,
      oldestPendingAgeMs: null,
      oldestPendingAt: null,
      lastSuccessAt: null,
      lastError: null,
      nextAttemptAt: null,
      unreachable: false,
      authRequired: false,
      user: null,
      signInKnown: false,
      parked: 0,
      parkedFor: [],
      unsentStreams: null,
      history: null,
      vanished: null,
      unread: 0,
    });

    const written = clock.now();
    await client.draftOrder(['SKU-1', 'SKU-2']);
    clock.advance(5_000);
    expect(await next(status$, (status) => status.pending === 3)).toMatchObject({
      phase: 'due',
      oldestPendingAt: written,
      oldestPendingAgeMs: 5_000,
    });

    backend.faults.set({ failureRate: 1, failureKinds: ['503'], retryAfterSeconds: 60 });
    const engine = client.engine();
    await engine.flush();
    const failed = await next(status$, (status) => status.lastError !== null);
    expect(failed).toMatchObject({
      phase: 'retrying',
      pending: 3,
      inflight: 0,
      syncing: false,
      lastSuccessAt: null,
    });
    expect(failed.lastError).toMatch(/Server busy/);
    expect(failed.nextAttemptAt).toBeGreaterThanOrEqual(clock.now() + 60_000);

    online$.next(false);
    expect(await next(status$, (status) => !status.online)).toMatchObject({ phase: 'offline', pending: 3 });
    online$.next(true);

    backend.faults.set(NO_FAULTS);
    await engine.flush({ force: true });
    expect(await next(status$, (status) => status.pending === 0)).toMatchObject({
      phase: 'idle',
      pending: 0,
      inflight: 0,
      dead: 0,
      oldestPendingAgeMs: null,
      lastSuccessAt: clock.now(),
      lastError: null,
      nextAttemptAt: null,
    });
  });

  it('is derived the same in another context on the same database while a flush is in flight', async () => {
    const { client, clock, backend } = setup();
    const otherContext = openTestDb({ name: client.db.name });
    const status$ = liveSyncStatus(liveSyncFacts(otherContext), clock, new BehaviorSubject(true));
    await client.draftOrder(['SKU-1']);
    backend.faults.set({ latencyMs: 300 });

    const flushing = client.engine().flush();
    expect(await next(status$, (status) => status.syncing)).toMatchObject({
      phase: 'syncing',
      syncing: true,
      inflight: 2,
      pending: 0,
    });
    await flushing;
    expect(await next(status$, (status) => !status.syncing && status.pending === 0)).toMatchObject({
      phase: 'idle',
      inflight: 0,
      lastSuccessAt: clock.now(),
    });
    otherContext.close();
  });

  it('shows dead letters, what waits behind them, and the auth-required pause', async () => {
    const { client, clock, backend } = setup();
    const status$ = liveSyncStatus(liveSyncFacts(client.db), clock, new BehaviorSubject(true));
    await client.draftOrder(['SKU-1']);
    backend.faults.set({ maxBodyBytes: 100 });
    await client.engine().flush();
    expect(await next(status$, (status) => status.dead === 1)).toMatchObject({
      phase: 'held',
      dead: 1,
      pending: 1,
    });

    backend.faults.set({ ...NO_FAULTS, unauthorized: true });
    await client.draftOrder(['SKU-2']);
    const engine = client.engine();
    await engine.flush();
    expect(await next(status$, (status) => status.authRequired)).toMatchObject({
      phase: 'auth',
      authRequired: true,
    });
    await engine.resumeAfterSignIn();
    expect(await next(status$, (status) => !status.authRequired)).toMatchObject({ authRequired: false });
  });
});
