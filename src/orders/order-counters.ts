import type { CounterIncrement, StreamChange } from '../outbox';
import type { ClientOrderEvent, ServerOrderEvent } from './domain/events';
import { type OrderState, type OrderStatus, orderTotal } from './domain/order';

/**
 * The order's counter rows: what the orders list and the insights count, kept step by step in the
 * transaction that stores each event, so reading them costs a few rows and keeping them a few more per step,
 * however many orders the device holds. Apart from `read-models.ts` so the list (in the first screen's
 * bundle) can name its counters without the rest.
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

export const dayOf = (iso: string): string => iso.slice(0, 10);

/** Placed and not decided yet: what the server still owes an answer for (a cancelled order may still be). */
export const waitsForDecision = (state: OrderState): boolean =>
  state.status !== 'none' && state.placed && state.orderNumber === null && state.rejection === null;

type OrderChange = StreamChange<OrderState, ClientOrderEvent, ServerOrderEvent>;

const count = (id: OrderCountKey, by: number): CounterIncrement => ({
  table: 'orderCounts',
  id,
  add: { count: by },
});

const day = (iso: string, field: 'placed' | 'confirmed' | 'rejected'): CounterIncrement => ({
  table: 'orderDays',
  id: dayOf(iso),
  // Every field, so a day row always has all three.
  add: { placed: 0, confirmed: 0, rejected: 0, [field]: 1 },
});

/**
 * What one step adds to the counters. The list's counts follow the status its row shows: a step that leaves
 * no order in the state (a discard down to before OrderCreated) keeps the row as it was (`orderReadModels`).
 * Decisions and placings are counted per event, as they happened, whatever a later discard does to the state.
 */
export function orderCounters(change: OrderChange): CounterIncrement[] {
  const { before, after, event } = change;
  const increments: CounterIncrement[] = [];

  const listedBefore = before.status === 'none' ? null : before.status;
  const listedAfter = after.status === 'none' ? listedBefore : after.status;
  if (listedBefore !== listedAfter) {
    increments.push(listedBefore === null ? count('all', 1) : count(listCountKey(listedBefore), -1));
    if (listedAfter !== null) increments.push(count(listCountKey(listedAfter), 1));
  }

  const waited = waitsForDecision(before);
  const waits = waitsForDecision(after);
  if (waited !== waits) increments.push(count('waiting', waits ? 1 : -1));

  if (event?.kind === 'client' && event.type === 'OrderPlaced')
    increments.push(day(event.occurredAt, 'placed'));
  if (event?.kind === 'server') {
    const outcome = event.type === 'OrderConfirmed' ? 'confirmed' : 'rejected';
    increments.push(day(event.occurredAt, outcome), count(`decided:${outcome}`, 1));
    if (outcome === 'confirmed' && waited && before.status !== 'none') {
      increments.push({
        table: 'orderRevenue',
        id: before.currency,
        add: { confirmed: orderTotal(before.lines) },
      });
    }
  }
  return increments;
}
