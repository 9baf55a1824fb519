import type { SyncStatus } from '../../outbox/page';
import { formatBytes } from '../format';
import { useOutpost } from '../outpost-context';
import { useObservable } from '../use-observable';
import { NotificationPermissionButton } from './notification-permission';
import { PersistenceStatusItem } from './storage-persistence';

/**
 * The full status, under the status line: who waits for a sign-in, the server, what drives sync, storage and
 * whether the browser may clear it, the last error, and the offer of notifications. On a wide screen it is always shown; on a phone on demand.
 */
export function StatusDetails({
  status,
  waiting,
  waitingFor,
}: {
  readonly status: SyncStatus | null;
  /** Entries not yet delivered. */
  readonly waiting: number;
  /** "4 entries wait for alice to sign in", when some do. */
  readonly waitingFor: string;
}) {
  const outpost = useOutpost();
  const storage = useObservable(outpost.storage$, null);
  const phase = status?.phase ?? 'idle';
  return (
    <>
      {status && status.parked > 0 && phase !== 'parked' ? (
        <span className="status-item">{waitingFor}</span>
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
      <PersistenceStatusItem waiting={waiting} />
      {status?.lastError && phase === 'retrying' ? (
        <span className="status-item status-item--error">Last error: {status.lastError}</span>
      ) : null}
      <NotificationPermissionButton />
    </>
  );
}
