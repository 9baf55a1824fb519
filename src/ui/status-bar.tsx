import { lazy, Suspense, useEffect, useState } from 'react';
import type { SyncMode, SyncStatus } from '../outbox/page';
import { formatAge, formatClock } from './format';
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
export function waitingForText(status: SyncStatus): string {
  const who = status.parkedFor.length > 0 ? status.parkedFor.join(' or ') : 'their author';
  return `${status.parked} ${status.parked === 1 ? 'entry waits' : 'entries wait'} for ${who} to sign in`;
}

// Who the device sends as, and the way in or out: loaded only on a server with sign-in.
const AccountItem = lazy(() => import('./account-item').then((m) => ({ default: m.AccountItem })));
const PersistenceRisk = lazy(() =>
  import('./components/storage-persistence').then((m) => ({ default: m.PersistenceRisk })),
);

// The rest of the status (server, what drives sync, storage, the last error): not needed to show the work,
// so it comes in a chunk of its own, right after the first screen.
const StatusDetails = lazy(() =>
  import('./components/status-details').then((m) => ({ default: m.StatusDetails })),
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
 * Connection, delivery and storage at a glance, on every screen: one line (online, unsent, the sync phase,
 * what needs attention, the account) that opens on demand onto the rest (the server, what drives sync,
 * storage, the last error). On a wide screen the rest fits on the same bar and is always shown. Not a live
 * region: it changes too often to be read out; the toasts announce the outcomes that matter.
 */
export function StatusBar() {
  const outpost = useOutpost();
  const status = useObservable<SyncStatus | null>(outpost.status$, null);
  const now = useNow(1000);
  const [expanded, setExpanded] = useState(false);
  const phase = status?.phase ?? 'idle';
  // Parked entries are unsent too: they wait for their author's sign-in, and the line below says so.
  const waiting = status ? status.pending + status.inflight + status.parked : 0;
  const oldestAge =
    status?.oldestPendingAt != null ? now - status.oldestPendingAt : status?.oldestPendingAgeMs;

  return (
    <section className="status-bar" aria-label="Sync status">
      <div className="status-bar__line">
        <span
          className={`status-pill ${status?.online === false ? 'status-pill--offline' : 'status-pill--online'}`}
        >
          {status ? (status.online ? 'Online' : 'Offline') : '…'}
        </span>
        <span className="status-item status-item--unsent">
          <span className="status-item__label">Unsent</span> {waiting}
          {waiting > 0 && oldestAge != null && (
            <span className="status-item__more"> (oldest {formatAge(oldestAge)})</span>
          )}
          {status && status.dead > 0 ? (
            <>
              {' · '}
              <a className="status-item__alert" href="#/outbox">
                {status.dead} {status.dead === 1 ? 'needs' : 'need'} attention
              </a>
            </>
          ) : null}
          <Suspense fallback={null}>
            <PersistenceRisk waiting={waiting} />
          </Suspense>
        </span>
        <span className={`status-item status-item--phase status-item--${phase}`}>
          <span className="status-item__label">Sync</span>{' '}
          {status ? phaseText(status, outpost.syncMode) : '…'}
        </span>
        {status && (status.authRequired || status.user !== null || status.signInKnown) ? (
          <Suspense fallback={null}>
            <AccountItem status={status} />
          </Suspense>
        ) : null}
        {status?.history ? (
          <span className="status-item" role="status">
            <span className="status-item__label">History</span> {historyText(status.history)}
          </span>
        ) : null}
        {status && status.unread > 0 ? (
          <span className="status-item">
            <span className="status-item__label">Needs an update</span> {status.unread}{' '}
            {status.unread === 1 ? 'change' : 'changes'} from a newer version of Outpost kept here, shown once
            this device updates
          </span>
        ) : null}
        <button
          type="button"
          className="button button--quiet status-bar__toggle"
          aria-expanded={expanded}
          aria-controls="status-details"
          onClick={() => setExpanded((open) => !open)}
        >
          Details<span className="visually-hidden"> of sync status</span>
        </button>
      </div>
      <div className="status-bar__details" id="status-details" hidden={!expanded}>
        <Suspense fallback={null}>
          <StatusDetails
            status={status}
            waiting={waiting}
            waitingFor={status ? waitingForText(status) : ''}
          />
        </Suspense>
      </div>
    </section>
  );
}

/** "2,400 of 10,000 loaded": a new device's history, newest first, as it arrives. */
function historyText(history: NonNullable<SyncStatus['history']>): string {
  const count = (n: number) => n.toLocaleString();
  return history.total === null
    ? `${count(history.loaded)} loaded, newest first`
    : `${count(history.loaded)} of ${count(history.total)} loaded, newest first`;
}

/**
 * Said once, plainly, when the server met this browser with an empty database although it had delivered
 * under another clientId before: the device did not start new, its saved data vanished (cleared by the
 * person, or evicted by the browser). What reached the server comes back; what had not is gone.
 */
export function VanishedNotice() {
  const outpost = useOutpost();
  const status = useObservable<SyncStatus | null>(outpost.status$, null);
  const vanished = status?.vanished;
  if (!vanished) return null;
  const was = vanished.device ? `“${vanished.device}”` : 'another device';
  return (
    <div className="update-prompt update-prompt--warning" role="alert">
      <span>
        This device's saved data was cleared since its last visit (it was {was}
        {vanished.user ? `, signed in as ${vanished.user}` : ''}). Everything it had sent is coming back from
        the server; anything it had not sent yet is gone.
      </span>
      <button type="button" className="button" onClick={() => void outpost.dismissVanished()}>
        Dismiss
      </button>
    </div>
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
