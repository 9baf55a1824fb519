import type { DeliveryState } from '../../outbox/page';

/** An outbox entry's state (the timeline, the inspector): apart from the list's badges, off the first screen. */
const DELIVERY_LABELS: Record<DeliveryState, string> = {
  pending: 'Pending',
  inflight: 'In flight',
  delivered: 'Delivered',
  discarded: 'Discarded',
  dead: 'Dead',
  parked: 'Waiting for sign-in',
};

export function DeliveryBadge({ status }: { readonly status: DeliveryState }) {
  return <span className={`badge badge--delivery-${status}`}>{DELIVERY_LABELS[status]}</span>;
}
