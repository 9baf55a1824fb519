import { cleanup, render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { BehaviorSubject } from 'rxjs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Outpost } from '../../src/app/outpost';
import { type FaultSettings, NO_FAULTS } from '../../src/outbox/mock/faults';
import type { SyncStatus } from '../../src/outbox/page/status';
import { App } from '../../src/ui/app';
import { formatClock } from '../../src/ui/format';
import { createTestOutpost, type TestOutpost } from './support/test-outpost';

const IDLE: SyncStatus = {
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
};

let outpost: TestOutpost;

async function renderWith(overrides: Partial<Outpost>) {
  outpost = await createTestOutpost();
  window.location.hash = '#/orders';
  render(<App outpost={{ ...outpost, ...overrides }} ids={outpost.ids} />);
  return screen.getByRole('region', { name: 'Sync status' });
}

afterEach(async () => {
  cleanup();
  await outpost.settle();
  outpost.db.close();
  window.location.hash = '';
});

describe('status bar', () => {
  it('says offline, how much is unsent and for how long, and what drives sync', async () => {
    // ManualClock's default time: the test outpost's clock starts there.
    const now = Date.UTC(2026, 10, 26, 12);
    const bar = await renderWith({
      status$: new BehaviorSubject<SyncStatus>({
        ...IDLE,
        phase: 'offline',
        online: false,
        pending: 3,
        oldestPendingAt: now - 5 * 60_000,
        oldestPendingAgeMs: 5 * 60_000,
      }),
    });
    expect(within(bar).getByText('Offline')).toBeTruthy();
    expect(bar.textContent).toContain('Offline: sent when the connection returns');
    expect(bar.textContent).toContain('Unsent 3 (oldest 5 min)');
    // The rest of the status is a chunk of its own, drawn right after the line.
    await vi.waitFor(() => expect(bar.textContent).toContain('Fallback timer'));
    expect(bar.textContent).toContain('http://127.0.0.1:4173/api/sync');
    // The estimate arrives when the browser answers it.
    await vi.waitFor(() => expect(bar.textContent).toMatch(/Storage 2\.4 MB of 954 MB/));
  });

  it('says who brings offline entries once the network is back: Background Sync, even with the app closed', async () => {
    const bar = await renderWith({
      syncMode: 'background-sync',
      status$: new BehaviorSubject<SyncStatus>({ ...IDLE, phase: 'offline', online: false, pending: 2 }),
    });
    expect(bar.textContent).toContain('Offline: Background Sync sends them when the connection returns');
    await vi.waitFor(() => expect(bar.textContent).toContain('Driven by Background Sync'));
  });

  it('words each phase for what it is, and says until when a retry waits and why', async () => {
    const status$ = new BehaviorSubject<SyncStatus>({ ...IDLE });
    const bar = await renderWith({ status$ });
    const sync = () => within(bar).getByText('Sync').parentElement?.textContent ?? '';
    expect(sync()).toBe('Sync Up to date');

    status$.next({ ...IDLE, phase: 'syncing', syncing: true, inflight: 4 });
    await vi.waitFor(() => expect(sync()).toBe('Sync Syncing…'));
    expect(bar.textContent).toContain('Unsent 4');

    const at = Date.UTC(2026, 10, 26, 14, 3, 12);
    status$.next({ ...IDLE, phase: 'retrying', pending: 1, nextAttemptAt: at, lastError: 'HTTP 503' });
    await vi.waitFor(() => expect(sync()).toBe(`Sync Retrying at ${formatClock(at)}`));
    await vi.waitFor(() => expect(bar.textContent).toContain('Last error: HTTP 503'));

    status$.next({ ...IDLE, phase: 'retrying', pending: 1, nextAttemptAt: at, unreachable: true });
    await vi.waitFor(() =>
      expect(sync()).toBe(`Sync Server unreachable: trying again at ${formatClock(at)}`),
    );

    status$.next({ ...IDLE, phase: 'due', pending: 1 });
    await vi.waitFor(() => expect(sync()).toBe('Sync About to send'));
    expect(bar.textContent).not.toContain('Last error');

    status$.next({ ...IDLE, phase: 'held', pending: 2, dead: 1 });
    await vi.waitFor(() => expect(sync()).toBe('Sync Held back behind entries that need attention'));
    expect(within(bar).getByRole('link', { name: '1 needs attention' })).toBeTruthy();

    status$.next({ ...IDLE, phase: 'auth', pending: 1, authRequired: true });
    await vi.waitFor(() => expect(sync()).toContain('Sign-in required'));
  });

  it('offers the update only when one is waiting, and applies it on request', async () => {
    const user = userEvent.setup();
    const update$ = new BehaviorSubject(false);
    const applyUpdate = vi.fn();
    await renderWith({ update$, applyUpdate });
    expect(screen.queryByRole('button', { name: 'Reload to update' })).toBeNull();
    update$.next(true);
    await user.click(await screen.findByRole('button', { name: 'Reload to update' }));
    expect(applyUpdate).toHaveBeenCalledTimes(1);
  });
});

describe('demo controls', () => {
  it('are absent outside demo builds', async () => {
    await renderWith({});
    expect(screen.queryByText('Demo controls (mock server faults)')).toBeNull();
  });

  it('switch the mock server offline and refuse a bad size limit next to its field', async () => {
    const user = userEvent.setup();
    const faults$ = new BehaviorSubject<FaultSettings>(NO_FAULTS);
    const setFaults = vi.fn(async (partial: Partial<FaultSettings>) => {
      faults$.next({ ...faults$.value, ...partial });
    });
    await renderWith({ demo: { faults$, setFaults } });
    await user.click(await screen.findByText('Demo controls (mock server faults)'));
    await user.click(screen.getByLabelText('Server unreachable (offline)'));
    expect(setFaults).toHaveBeenLastCalledWith({ offline: true });
    expect((screen.getByLabelText('Server unreachable (offline)') as HTMLInputElement).checked).toBe(true);

    const limit = screen.getByLabelText('Refuse pushes larger than (bytes)');
    await user.type(limit, '12kB');
    await user.click(screen.getByRole('button', { name: 'Apply limit' }));
    expect(limit.getAttribute('aria-invalid')).toBe('true');
    expect(setFaults).toHaveBeenCalledTimes(1);
    await user.clear(limit);
    await user.type(limit, '2048');
    await user.click(screen.getByRole('button', { name: 'Apply limit' }));
    expect(setFaults).toHaveBeenLastCalledWith({ maxBodyBytes: 2048 });
  });
});
