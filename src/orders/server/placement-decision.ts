import { MAX_NAMED_SKUS } from '../domain/events';
import type { OrderLine } from '../domain/order';

export const CREDIT_LIMIT = 1_000_000;
export const DISCONTINUED_SKU_PREFIX = 'DISC-';

export type PlacementDecision =
  | { readonly type: 'OrderConfirmed' }
  | {
      readonly type: 'OrderRejected';
      readonly code: 'discontinued_sku' | 'credit_limit';
      readonly reason: string;
      /** The lines refused, for a client that copies the order without them. */
      readonly skus?: readonly string[];
    };

/**
 * What the server decides about a placed order. A discontinued product is checked first: no credit review
 * can make it deliverable.
 */
export function decidePlacement(lines: readonly OrderLine[], total: number): PlacementDecision {
  const discontinued = lines.filter((line) => line.sku.startsWith(DISCONTINUED_SKU_PREFIX)).map((l) => l.sku);
  if (discontinued.length > 0) {
    return {
      type: 'OrderRejected',
      code: 'discontinued_sku',
      reason: `Discontinued: ${discontinued.join(', ')}`.slice(0, 200),
      skus: discontinued.slice(0, MAX_NAMED_SKUS),
    };
  }
  if (total > CREDIT_LIMIT) {
    return {
      type: 'OrderRejected',
      code: 'credit_limit',
      reason: `The total ${total} is over the credit limit of ${CREDIT_LIMIT} minor units`,
    };
  }
  return { type: 'OrderConfirmed' };
}

/** `SO-000042` for serverSeq 42; numbers past 999,999 simply grow wider. */
export const orderNumberFor = (serverSeq: number): string => `SO-${String(serverSeq).padStart(6, '0')}`;
