import type { StreamLayout } from '../outbox';
import { ORDER } from './stream-ids';

/**
 * The order's tables, apart from its code: what the page's database opens with before the order's schemas
 * and decider have loaded.
 *
 * - `orders`: one row per order, what the list shows and filters on (`[status+customerKey]`: a status and a
 *   customer search, counted and paged by the index alone; `copiedFrom`: the copies made of an order).
 * - `orderLines`: one row per order, what its screen shows.
 * - `orderCounts`, `orderDays`, `orderRevenue`: counter rows keyed by what they count (a status, a UTC day, a
 *   currency), so the list's total and the insights read a few rows however many orders exist.
 * - `orderPlacements`, `orderDecisions`: when an order was placed, and when the server first decided it while
 *   it waited; the insights join the latest decisions to their placements for the acknowledgement time.
 */
export const orderLayout = {
  name: ORDER,
  tables: {
    orders: '&id, status, customerKey, updatedAt, [status+customerKey], copiedFrom',
    orderLines: '&id',
    orderCounts: '&id',
    orderDays: '&id',
    orderRevenue: '&id',
    orderPlacements: '&id',
    orderDecisions: '&id, decidedAt',
  },
} as const satisfies StreamLayout;
