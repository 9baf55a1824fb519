import type { OrderSummary } from '../read-models';

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
