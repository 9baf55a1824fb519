import { cleanup, render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { BehaviorSubject } from 'rxjs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Outpost } from '../../src/app/outpost';
import { type FaultSettings, NO_FAULTS } from '../../src/mocks/faults';
import type { SyncStatus } from '../../src/sync/status';
import { App } from '../../src/ui/app';
import { createTestOutpost, type TestOutpost } from './support/test-outpost';

const IDLE: SyncStatus = {
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
};

let outpost: TestOutpost;

function renderWith(overrides: Partial<Outpost>) {
  outpost = createTestOutpost();
  window.location.hash = '#/orders';
  render(<App outpost={{ ...outpost, ...overrides }} ids={outpost.ids} />);
  return screen.getByRole('region', { name: 'Sync status' });
}

afterEach(() => {
  cleanup();
  outpost.db.close();
  window.location.hash = '';
});

describe('status bar', () => {
  it('says offline, how much is unsent and for how long, and what drives sync', () => {
    // ManualClock's default time: the test outpost's clock starts there.
    const now = Date.UTC(2026, 10, 26, 12);
    const bar = renderWith({
      status$: new BehaviorSubject<SyncStatus>({
        ...IDLE,
        online: false,
        pending: 3,
        oldestPendingAt: now - 5 * 60_000,
        oldestPendingAgeMs: 5 * 60_000,
      }),
    });
    expect(within(bar).getByText('Offline')).toBeTruthy();
    expect(bar.textContent).toContain('Waiting for a connection');
    expect(bar.textContent).toContain('Unsent 3 (oldest 5 min)');
    expect(bar.textContent).toContain('Fallback timer');
    expect(bar.textContent).toContain('http://127.0.0.1:4173/api/sync');
    expect(bar.textContent).toMatch(/Storage 2\.4 MB of 954 MB, persistent/);
  });

  it('shows when the next attempt is due after a failure, and when sign-in is needed', async () => {
    const status$ = new BehaviorSubject<SyncStatus>({ ...IDLE, pending: 1 });
    const bar = renderWith({ status$ });
    const due = outpost.clock.now() + 90_000;
    status$.next({ ...IDLE, pending: 1, nextAttemptAt: due, lastError: 'HTTP 503' });
    await vi.waitFor(() => {
      expect(bar.textContent).toMatch(/Waiting until \d\d:\d\d:\d\d/);
      expect(bar.textContent).toContain('Last error: HTTP 503');
    });
    status$.next({ ...IDLE, pending: 1, authRequired: true });
    await vi.waitFor(() => expect(bar.textContent).toContain('Sign-in required'));
  });

  it('offers the update only when one is waiting, and applies it on request', async () => {
    const user = userEvent.setup();
    const update$ = new BehaviorSubject(false);
    const applyUpdate = vi.fn();
    renderWith({ update$, applyUpdate });
    expect(screen.queryByRole('button', { name: 'Reload to update' })).toBeNull();
    update$.next(true);
    await user.click(await screen.findByRole('button', { name: 'Reload to update' }));
    expect(applyUpdate).toHaveBeenCalledTimes(1);
  });
});

describe('demo controls', () => {
  it('are absent outside demo builds', () => {
    renderWith({});
    expect(screen.queryByText('Demo controls (mock server faults)')).toBeNull();
  });

  it('switch the mock server offline and refuse a bad size limit next to its field', async () => {
    const user = userEvent.setup();
    const faults$ = new BehaviorSubject<FaultSettings>(NO_FAULTS);
    const setFaults = vi.fn(async (partial: Partial<FaultSettings>) => {
      faults$.next({ ...faults$.value, ...partial });
    });
    renderWith({ demo: { faults$, setFaults } });
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
