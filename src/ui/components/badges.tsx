import type { DeliveryView, SyncState } from '../../outbox/page';
import { formatClock } from '../format';

const SYNC_LABELS: Record<SyncState, string> = {
  local: 'Saved on device',
  retrying: 'Saved on device',
  sending: 'Sending',
  delivered: 'Delivered',
  attention: 'Needs attention',
  parked: 'Saved on device — waits for its author to sign in',
};

/**
 * Where a stream's changes are: "Sending" only while a live flusher holds them (`deliveryView`); a retried
 * stream says when its next attempt is due, so a wait is never mistaken for progress.
 */
export function SyncBadge({
  delivery,
}: {
  readonly delivery: Pick<DeliveryView, 'state' | 'retryAt' | 'waitingFor'>;
}) {
  const { state, retryAt, waitingFor } = delivery;
  const label =
    state === 'retrying' && retryAt !== null
      ? `${SYNC_LABELS.retrying} — retrying at ${formatClock(retryAt)}`
      : state === 'parked' && waitingFor
        ? `Saved on device — waits for ${waitingFor} to sign in`
        : SYNC_LABELS[state];
  return <span className={`badge badge--sync-${state}`}>{label}</span>;
}

/**
 * A stream's status in its stream type's words (`status` picks the colour: `badge--status-<status>`). A long
 * text (a rejection reason) is cut on narrow screens; the title keeps all of it reachable.
 */
export function StatusBadge({ status, text }: { readonly status: string; readonly text: string }) {
  return (
    <span className={`badge badge--status-${status}`} title={text}>
      {text}
    </span>
  );
}
