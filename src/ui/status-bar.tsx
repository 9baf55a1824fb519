import { lazy, Suspense, useEffect, useState } from 'react';
import type { SyncMode } from '../outbox/browser/sync-mode';
import type { SyncStatus } from '../outbox/sync/status';
import { formatAge, formatBytes, formatClock } from './format';
import { useOutpost } from './outpost-context';
import { useObservable } from './use-observable';

/**
 * The phase in words. Each says who will act and when: the app now, the app at a time, the browser when the
 * network returns, or the person. Never "up to date" while anything waits.
 */
function phaseText(status: SyncStatus, mode: SyncMode): string {
  switch (status.phase) {
    case 'auth':
      return 'Sign-in required: sync paused, nothing is lost';
    case 'offline':
      return mode === 'background-sync'
        ? 'Offline: Background Sync sends them when the connection returns'
        : 'Offline: sent when the connection returns';
    case 'syncing':
      return 'Syncing…';
    case 'retrying':
      return status.unreachable
        ? `Server unreachable: trying again at ${formatClock(status.nextAttemptAt ?? 0)}`
        : `Retrying at ${formatClock(status.nextAttemptAt ?? 0)}`;
    case 'held':
      return 'Held back behind entries that need attention';
    case 'parked':
      return `Up to date; ${waitingForText(status)}`;
    case 'due':
      return 'About to send';
    case 'idle':
      return 'Up to date';
    default: {
      const unknownPhase: never = status.phase;
      return unknownPhase;
    }
  }
}

/** "4 entries wait for alice to sign in": another user's entries, kept until they sign in here again. */
function waitingForText(status: SyncStatus): string {
  const who = status.parkedFor.length > 0 ? status.parkedFor.join(' or ') : 'their author';
  return `${status.parked} ${status.parked === 1 ? 'entry waits' : 'entries wait'} for ${who} to sign in`;
}

// Who the device sends as, and the way in or out: loaded only on a server with sign-in.
const AccountItem = lazy(() => import('./account-item').then((m) => ({ default: m.AccountItem })));
const PersistenceStatusItem = lazy(() =>
  import('./components/storage-persistence').then((m) => ({ default: m.PersistenceStatusItem })),
);

/** A clock tick for the age of the oldest entry, which moves while nothing in the database changes. */
function useNow(everyMs: number): number {
  const { clock } = useOutpost();
  const [now, setNow] = useState(() => clock.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(clock.now()), everyMs);
    return () => clearInterval(timer);
  }, [clock, everyMs]);
  return now;
}

/**
 * Connection, delivery and storage at a glance, on every screen. Not a live region: it changes too often
 * to be read out; the toasts announce the outcomes that matter.
 */
export function StatusBar() {
  const outpost = useOutpost();
  const status = useObservable<SyncStatus | null>(outpost.status$, null);
  const storage = useObservable(outpost.storage$, null);
  const now = useNow(1000);
  const phase = status?.phase ?? 'idle';
  // Parked entries are unsent too: they wait for their author's sign-in, and the line below says so.
  const waiting = status ? status.pending + status.inflight + status.parked : 0;
  const oldestAge =
    status?.oldestPendingAt != null ? now - status.oldestPendingAt : status?.oldestPendingAgeMs;

  return (
    <section className="status-bar" aria-label="Sync status">
      <span
        className={`status-pill ${status?.online === false ? 'status-pill--offline' : 'status-pill--online'}`}
      >
        {status ? (status.online ? 'Online' : 'Offline') : '…'}
      </span>
      <span className={`status-item status-item--${phase}`}>
        <span className="status-item__label">Sync</span> {status ? phaseText(status, outpost.syncMode) : '…'}
      </span>
      <span className="status-item">
        <span className="status-item__label">Unsent</span> {waiting}
        {waiting > 0 && oldestAge != null ? ` (oldest ${formatAge(oldestAge)})` : ''}
        {status && status.parked > 0 && phase !== 'parked' ? ` · ${waitingForText(status)}` : null}
        {status && status.dead > 0 ? (
          <>
            {' · '}
            <a className="status-item__alert" href="#/outbox">
              {status.dead} {status.dead === 1 ? 'needs' : 'need'} attention
            </a>
          </>
        ) : null}
      </span>
      {status && (status.authRequired || status.user !== null || status.signInKnown) ? (
        <Suspense fallback={null}>
          <AccountItem status={status} />
        </Suspense>
      ) : null}
      <span className="status-item status-item--wide">
        <span className="status-item__label">Server</span> <code>{outpost.endpoint}</code>
      </span>
      <span className="status-item">
        <span className="status-item__label">Driven by</span>{' '}
        {outpost.syncMode === 'background-sync' ? 'Background Sync' : 'Fallback timer'}
      </span>
      <span className="status-item">
        <span className="status-item__label">Storage</span>{' '}
        {storage ? `${formatBytes(storage.usage)} of ${formatBytes(storage.quota)}` : 'unknown'}
      </span>
      <Suspense fallback={null}>
        <PersistenceStatusItem waiting={waiting} />
      </Suspense>
      {status?.lastError && phase === 'retrying' ? (
        <span className="status-item status-item--error">Last error: {status.lastError}</span>
      ) : null}
    </section>
  );
}

/** Shown only when a new version is installed and waiting: reloading is the person's choice. */
export function UpdatePrompt() {
  const outpost = useOutpost();
  const available = useObservable(outpost.update$, false);
  if (!available) return null;
  return (
    <div className="update-prompt" role="status">
      <span>A new version of Outpost is ready.</span>
      <button type="button" className="button button--primary" onClick={() => outpost.applyUpdate()}>
        Reload to update
      </button>
    </div>
  );
}
