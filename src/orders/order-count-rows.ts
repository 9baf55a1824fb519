import type { OrderStatus } from './domain/order';

/**
 * The shapes of the order's counter rows and the list's key into them: no runtime import, so the orders list
 * (first screen) reads its total without the counters' fold (`order-counters.ts`) or the domain.
 */

/** What a row of `orderCounts` counts: orders on the list in all or by status, or decisions. */
export type OrderCountKey =
  | 'all'
  | `status:${OrderStatus}`
  /** Placed orders the server has not decided yet. */
  | 'waiting'
  | 'decided:confirmed'
  | 'decided:rejected';

/** A row of `orderCounts`. */
export interface OrderCount {
  readonly id: OrderCountKey;
  readonly count: number;
}

/** A row of `orderDays`, keyed by UTC day (`2026-11-26`): orders placed, and the server's decisions, that day. */
export interface OrderDay {
  readonly id: string;
  readonly placed: number;
  readonly confirmed: number;
  readonly rejected: number;
}

/** A row of `orderRevenue`, keyed by currency: the totals of confirmed orders, in minor units. */
export interface OrderRevenue {
  readonly id: string;
  readonly confirmed: number;
}

/** The counter of the orders list's filter: every order, or those of one status. */
export const listCountKey = (status?: OrderStatus): OrderCountKey => (status ? `status:${status}` : 'all');
