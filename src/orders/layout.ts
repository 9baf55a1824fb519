import type { StreamLayout } from '../outbox';
import { ORDER } from './stream-ids';

/**
 * The order's tables, apart from its code: what the page's database opens with before the order's schemas
 * and decider have loaded. `orders` is one row per order (what the list shows and filters on), `orderLines`
 * one per order (what its screen shows).
 */
export const orderLayout = {
  name: ORDER,
  tables: {
    orders: '&id, status, customerKey, updatedAt',
    orderLines: '&id',
  },
} as const satisfies StreamLayout;
