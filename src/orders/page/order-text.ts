import type { StoredEvent } from '../../outbox/page';
import { describeLocalEvent } from '../../ui/components/local-event-text';
import type { ClientOrderEvent, ServerOrderEvent } from '../domain/events';

/**
 * One line a person can read about an order event ("Added 2 × Espresso beans"). The read models store the
 * events' facts; the words are the UI's, so they can change without a rebuild.
 */
export function describeOrderEvent(event: StoredEvent): string {
  const local = describeLocalEvent(event);
  if (local !== null) return local;
  const order = event as unknown as ClientOrderEvent | ServerOrderEvent;
  switch (order.type) {
    case 'OrderCreated':
      return `Created for ${order.data.customerName} in ${order.data.currency}`;
    case 'ProductAdded':
      return `Added ${order.data.quantity} × ${order.data.name} (${order.data.sku})`;
    case 'ProductRemoved':
      return `Removed ${order.data.sku}`;
    case 'OrderPlaced':
      return `Placed with ${order.data.lineCount} ${order.data.lineCount === 1 ? 'line' : 'lines'}`;
    case 'OrderCancelled':
      return `Cancelled: ${order.data.reason}`;
    case 'OrderConfirmed':
      return `Confirmed as ${order.data.orderNumber}`;
    case 'OrderRejected':
      return `Rejected by the server (${order.data.code}): ${order.data.reason}`;
    default: {
      const unknownEvent: never = order;
      return String((unknownEvent as { type?: unknown }).type);
    }
  }
}
