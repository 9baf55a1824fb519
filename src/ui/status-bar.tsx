import { useEffect, useState } from 'react';
import type { SyncStatus } from '../sync/status';
import { formatAge, formatBytes, formatClock } from './format';
import { useObservable } from './hooks';
import { useOutpost } from './outpost-context';

type SyncPhase = 'auth' | 'offline' | 'syncing' | 'waiting' | 'idle';

function phaseOf(status: SyncStatus, now: number): SyncPhase {
  if (status.authRequired) return 'auth';
  if (!status.online && status.pending + status.inflight > 0) return 'offline';
  if (status.syncing) return 'syncing';
  if (status.nextAttemptAt !== null && status.nextAttemptAt > now) return 'waiting';
  return 'idle';
}

function phaseText(status: SyncStatus, phase: SyncPhase): string {
  switch (phase) {
    case 'auth':
      return 'Sign-in required: sync paused, nothing is lost';
    case 'offline':
      return 'Waiting for a connection';
    case 'syncing':
      return 'Syncing…';
    case 'waiting':
      return `Waiting until ${formatClock(status.nextAttemptAt ?? 0)}`;
    case 'idle':
      return 'Idle';
    default: {
      const unknownPhase: never = phase;
      return unknownPhase;
    }
  }
}

/** A clock tick for ages and "waiting until" that must move while nothing in the database changes. */
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
  const phase = status ? phaseOf(status, now) : 'idle';
  const waiting = status ? status.pending + status.inflight : 0;
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
        <span className="status-item__label">Sync</span> {status ? phaseText(status, phase) : '…'}
      </span>
      <span className="status-item">
        <span className="status-item__label">Unsent</span> {waiting}
        {waiting > 0 && oldestAge != null ? ` (oldest ${formatAge(oldestAge)})` : ''}
        {status && status.dead > 0 ? (
          <>
            {' · '}
            <a className="status-item__alert" href="#/outbox">
              {status.dead} {status.dead === 1 ? 'needs' : 'need'} attention
            </a>
          </>
        ) : null}
      </span>
      <span className="status-item status-item--wide">
        <span className="status-item__label">Server</span> <code>{outpost.endpoint}</code>
      </span>
      <span className="status-item">
        <span className="status-item__label">Driven by</span>{' '}
        {outpost.syncMode === 'background-sync' ? 'Background Sync' : 'Fallback timer'}
      </span>
      <span className="status-item">
        <span className="status-item__label">Storage</span>{' '}
        {storage
          ? `${formatBytes(storage.usage)} of ${formatBytes(storage.quota)}${storage.persisted ? ', persistent' : ''}`
          : 'unknown'}
      </span>
      {status?.lastError && phase === 'waiting' ? (
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
