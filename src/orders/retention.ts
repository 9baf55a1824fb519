import type { CounterIncrement, Retention } from '../outbox';
import type { OrderState } from './domain/order';
import { waitsForDecision } from './order-counters';

/**
 * Which orders may leave the device once old (the core's `retention.ts`): decided ones (confirmed or
 * rejected) and cancelled ones, with no decision still owed. A confirmed order could still be cancelled; once
 * archived it no longer can be from this device, which the setting says where the person chooses it.
 *
 * What outlives an archived order: the insights' history (orders placed and decided per day, revenue per
 * currency, decisions in all). What leaves with it: its place in the list's counts.
 */
export const orderRetention: Retention<OrderState> = {
  settled: (state) =>
    (state.status === 'confirmed' || state.status === 'rejected' || state.status === 'cancelled') &&
    !waitsForDecision(state),
  keepsCounter: (increment: CounterIncrement) =>
    increment.table === 'orderDays' ||
    increment.table === 'orderRevenue' ||
    (increment.table === 'orderCounts' && increment.id.startsWith('decided:')),
};
