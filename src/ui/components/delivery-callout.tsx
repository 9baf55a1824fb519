import type { DeliveryView } from '../../outbox/page';

/**
 * Why a stream's changes do not reach the server, worded from the delivery facts the core keeps (a dead
 * entry, or a discard on this device), and where to act. Nothing when nothing holds it back.
 */
export function DeliveryCallout({
  delivery,
  noun,
}: {
  readonly delivery: DeliveryView;
  readonly noun: string;
}) {
  const text = heldBackText(delivery, noun);
  if (!text) return null;
  return (
    <p className="callout callout--warning" role="note">
      <strong>Held back:</strong> {text}{' '}
      {delivery.blocked ? <a href="#/outbox">Open the outbox to retry or discard</a> : null}
    </p>
  );
}

/** The facts in a sentence; null when nothing holds the stream back. */
export function heldBackText(
  delivery: Pick<DeliveryView, 'blocked' | 'discarded'>,
  noun: string,
): string | null {
  const { blocked, discarded } = delivery;
  if (blocked) {
    const why = blocked.error ?? blocked.deadCode ?? 'no reason given';
    return `${blocked.type} (version ${blocked.version}) was not accepted: ${why}.${
      blocked.waiting ? ' Later changes wait behind it.' : ''
    } Retry or discard it.`;
  }
  if (discarded) {
    return `Changes from version ${discarded.fromVersion} on were discarded on this device and will never reach the server${
      discarded.reason ? `: ${discarded.reason}` : ''
    }. The ${noun} takes no more changes.`;
  }
  return null;
}
