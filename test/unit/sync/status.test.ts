import { BehaviorSubject, filter, firstValueFrom, type Observable, timeout } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { NO_FAULTS } from '../../../src/mocks/faults';
import { openDb } from '../../../src/store/db';
import { liveSyncStatus, type SyncStatus } from '../../../src/sync/status';
import { setupSyncTestServer } from './harness';

const { setup } = setupSyncTestServer({ seed: 21 });

const next = (status$: Observable<SyncStatus>, predicate: (status: SyncStatus) => boolean) =>
  firstValueFrom(status$.pipe(filter(predicate), timeout(3_000)));

describe('liveSyncStatus', () => {
  it('follows the outbox and the engine through failure, backoff and delivery', async () => {
    const { client, clock, backend } = setup();
    const online$ = new BehaviorSubject(true);
    const status$ = liveSyncStatus(client.db, clock, online$);

    expect(await next(status$, () => true)).toEqual({
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
      authRequired: false,
    });

    const written = clock.now();
    await client.draftOrder(['SKU-1', 'SKU-2']);
    clock.advance(5_000);
    expect(await next(status$, (status) => status.pending === 3)).toMatchObject({
      oldestPendingAt: written,
      oldestPendingAgeMs: 5_000,
    });

    backend.faults.set({ failureRate: 1, failureKinds: ['503'], retryAfterSeconds: 60 });
    const engine = client.engine();
    await engine.flush();
    const failed = await next(status$, (status) => status.lastError !== null);
    expect(failed).toMatchObject({ pending: 3, inflight: 0, syncing: false, lastSuccessAt: null });
    expect(failed.lastError).toMatch(/Server busy/);
    expect(failed.nextAttemptAt).toBeGreaterThanOrEqual(clock.now() + 60_000);

    online$.next(false);
    expect(await next(status$, (status) => !status.online)).toMatchObject({ online: false, pending: 3 });
    online$.next(true);

    backend.faults.set(NO_FAULTS);
    await engine.flush({ force: true });
    expect(await next(status$, (status) => status.pending === 0)).toMatchObject({
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
    const otherContext = openDb({ name: client.db.name });
    const status$ = liveSyncStatus(otherContext, clock, new BehaviorSubject(true));
    await client.draftOrder(['SKU-1']);
    backend.faults.set({ latencyMs: 300 });

    const flushing = client.engine().flush();
    expect(await next(status$, (status) => status.syncing)).toMatchObject({
      syncing: true,
      inflight: 2,
      pending: 0,
    });
    await flushing;
    expect(await next(status$, (status) => !status.syncing && status.pending === 0)).toMatchObject({
      inflight: 0,
      lastSuccessAt: clock.now(),
    });
    otherContext.close();
  });

  it('shows dead letters and the auth-required pause', async () => {
    const { client, clock, backend } = setup();
    const status$ = liveSyncStatus(client.db, clock, new BehaviorSubject(true));
    await client.draftOrder(['SKU-1']);
    backend.faults.set({ maxBodyBytes: 100 });
    await client.engine().flush();
    expect(await next(status$, (status) => status.dead === 1)).toMatchObject({ dead: 1, pending: 1 });

    backend.faults.set({ ...NO_FAULTS, unauthorized: true });
    await client.draftOrder(['SKU-2']);
    const engine = client.engine();
    await engine.flush();
    expect(await next(status$, (status) => status.authRequired)).toMatchObject({ authRequired: true });
    await engine.resumeAfterSignIn();
    expect(await next(status$, (status) => !status.authRequired)).toMatchObject({ authRequired: false });
  });
});
