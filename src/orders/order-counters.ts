import type { CounterIncrement, StreamChange } from '../outbox';
import type { ClientOrderEvent, ServerOrderEvent } from './domain/events';
import { type OrderState, orderTotal } from './domain/order';
import { listCountKey, type OrderCountKey } from './order-count-rows';

/**
 * The order's counter rows: what the orders list and the insights count, kept step by step in the
 * transaction that stores each event, so reading them costs a few rows and keeping them a few more per step,
 * however many orders the device holds. The rows' shapes are in `order-count-rows.ts`, so the list (in the
 * first screen's bundle) can read them without this module and the domain fold it needs.
 */

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
