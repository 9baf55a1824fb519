import { findProduct } from '../../catalog/products';
import type { StoredEvent } from '../../outbox/page';
import { describeLocalEvent } from '../../ui/components/local-event-text';
import type { StockCountSummary } from '../read-models';
import { countEventOf } from '../stored-events';

/** A sku as a person reads it: the catalog's name when the app knows the product. */
export const productLabel = (sku: string): string => {
  const product = findProduct(sku);
  return product ? `${product.name} (${sku})` : sku;
};

/** One line a person can read about a stock count event; the read models keep only the facts. */
export function describeCountEvent(event: StoredEvent): string {
  const local = describeLocalEvent(event);
  if (local !== null) return local;
  const count = countEventOf(event);
  if (!count) return event.type;
  switch (count.type) {
    case 'CountStarted':
      return `Started counting ${count.data.location}`;
    case 'QuantityRecorded':
      return `Counted ${count.data.quantity} × ${productLabel(count.data.sku)}`;
    case 'LineRemoved':
      return `Removed ${productLabel(count.data.sku)}`;
    case 'CountSubmitted': {
      const lines = count.data.lines.length;
      return `Submitted with ${lines} ${lines === 1 ? 'line' : 'lines'}`;
    }
    case 'CountAbandoned':
      return `Abandoned: ${count.data.reason}`;
    case 'CountAccepted':
      return `Accepted as ${count.data.countNumber}`;
    case 'CountRejected':
      return `Rejected by the server (${count.data.code}): ${count.data.reason}`;
    default: {
      const unknownEvent: never = count;
      return String((unknownEvent as { type?: unknown }).type);
    }
  }
}

/** The status in words, with the count number or the reason next to it. */
export function countStatusText(
  count: Pick<StockCountSummary, 'status' | 'countNumber' | 'rejection'>,
): string {
  switch (count.status) {
    case 'counting':
      return 'Counting';
    case 'submitted':
      return 'Submitted';
    case 'accepted':
      return count.countNumber ? `Accepted ${count.countNumber}` : 'Accepted';
    case 'rejected': {
      // The reason is the sheet's to show in full; the badge says what to do.
      const recount = count.rejection?.skus.length ?? 0;
      return recount > 0
        ? `Rejected: recount ${recount} ${recount === 1 ? 'product' : 'products'}`
        : 'Rejected';
    }
    case 'abandoned':
      return 'Abandoned';
    default: {
      const unknownStatus: never = count.status;
      return unknownStatus;
    }
  }
}
