import type { OrderSummary } from '../../orders/read-models';
import type { DeliveryState, DeliveryView, SyncState } from '../../outbox/views';
import { formatClock } from '../format';

const SYNC_LABELS: Record<SyncState, string> = {
  local: 'Saved on device',
  retrying: 'Saved on device',
  sending: 'Sending',
  delivered: 'Delivered',
  attention: 'Needs attention',
};

/**
 * Where a stream's changes are: "Sending" only while a live flusher holds them (`deliveryView`); a retried
 * stream says when its next attempt is due, so a wait is never mistaken for progress.
 */
export function SyncBadge({ delivery }: { readonly delivery: Pick<DeliveryView, 'state' | 'retryAt'> }) {
  const { state, retryAt } = delivery;
  const label =
    state === 'retrying' && retryAt !== null
      ? `${SYNC_LABELS.retrying} — retrying at ${formatClock(retryAt)}`
      : SYNC_LABELS[state];
  return <span className={`badge badge--sync-${state}`}>{label}</span>;
}

/** The status in words, with what the person needs to know next to it (order number, rejection reason). */
export function orderStatusText(
  order: Pick<OrderSummary, 'status' | 'orderNumber' | 'rejection' | 'cancellationReason'>,
): string {
  switch (order.status) {
    case 'draft':
      return 'Draft';
    case 'placed':
      return 'Placed';
    case 'confirmed':
      return order.orderNumber ? `Confirmed ${order.orderNumber}` : 'Confirmed';
    case 'rejected':
      return order.rejection ? `Rejected: ${order.rejection.reason}` : 'Rejected';
    case 'cancelled':
      return 'Cancelled';
    default: {
      const unknownStatus: never = order.status;
      return unknownStatus;
    }
  }
}

export function StatusBadge({
  order,
}: {
  readonly order: Pick<OrderSummary, 'status' | 'orderNumber' | 'rejection' | 'cancellationReason'>;
}) {
  const text = orderStatusText(order);
  // A long rejection reason is cut on narrow screens; the title keeps all of it reachable.
  return (
    <span className={`badge badge--status-${order.status}`} title={text}>
      {text}
    </span>
  );
}

const DELIVERY_LABELS: Record<DeliveryState, string> = {
  pending: 'Pending',
  inflight: 'In flight',
  delivered: 'Delivered',
  discarded: 'Discarded',
  dead: 'Dead',
};

export function DeliveryBadge({ status }: { readonly status: DeliveryState }) {
  return <span className={`badge badge--delivery-${status}`}>{DELIVERY_LABELS[status]}</span>;
}
