import type { ReadModelRows, ReadModels, StreamChange } from '../outbox';
import type { ClientOrderEvent, ServerOrderEvent } from './domain/events';
import {
  type OrderLine,
  type OrderState,
  type OrderStatus,
  orderTotal,
  type Rejection,
} from './domain/order';
import { orderLayout } from './layout';
import { orderCounters, waitsForDecision } from './order-counters';

/**
 * The order's read models: one row per order in `orders` (what the list shows and filters on) and one in
 * `orderLines` (what the order screen shows), both the order's state after each change, so a rebuild
 * reproduces them exactly; when it was placed and first decided (`orderPlacements`, `orderDecisions`); and
 * the counters of `order-counters.ts`. Delivery facts are the core's (`deliveries`), joined by the views.
 */

/** A row of the orders list. */
export interface OrderSummary {
  /** The order's id (its stream is `order-<id>`). */
  readonly id: string;
  readonly customerName: string;
  /** Lower-cased customer name for prefix search. */
  readonly customerKey: string;
  readonly currency: string;
  readonly status: OrderStatus;
  readonly lineCount: number;
  readonly total: number;
  readonly orderNumber: string | null;
  readonly rejection: Rejection | null;
  readonly cancellationReason: string | null;
  /** The order this one was copied from: its copies are found by this field's index. */
  readonly copiedFrom: string | null;
  readonly version: number;
  readonly createdAt: string;
  readonly updatedAt: string;
}

/** The order's lines, for its screen. */
export interface OrderLines {
  readonly id: string;
  readonly lines: readonly OrderLine[];
}

/** When the order was placed (the OrderPlaced event's time). */
export interface OrderPlacement {
  readonly id: string;
  readonly placedAt: string;
}

/** The server's first decision on the order while it waited for one, and when it was made. */
export interface OrderDecision {
  readonly id: string;
  readonly decidedAt: string;
  readonly outcome: 'confirmed' | 'rejected';
}

type OrderChange = StreamChange<OrderState, ClientOrderEvent, ServerOrderEvent>;

function listRows(change: OrderChange): ReadModelRows {
  const { after, before, id } = change;
  // A discard can take back everything down to OrderCreated: the person still sees which order it was
  // (with no lines) and why it is held, so the last state that had an order in it stays on the list.
  const shown = after.status !== 'none' ? after : before.status !== 'none' ? { ...before, lines: [] } : null;
  if (!shown) return {};
  const summary: OrderSummary = {
    id,
    customerName: shown.customerName,
    customerKey: shown.customerName.toLowerCase(),
    currency: shown.currency,
    status: shown.status,
    lineCount: shown.lines.length,
    total: orderTotal(shown.lines),
    orderNumber: shown.orderNumber,
    rejection: shown.rejection,
    cancellationReason: shown.cancellationReason,
    copiedFrom: shown.copiedFrom ?? null,
    version: change.version,
    createdAt: change.createdAt,
    updatedAt: change.updatedAt,
  };
  const lines: OrderLines = { id, lines: after.status === 'none' ? [] : after.lines };
  return { orders: summary, orderLines: lines };
}

/** The placing and the decision that answered it, for the acknowledgement time. */
function acknowledgementRows(change: OrderChange): ReadModelRows {
  const { event, before, id } = change;
  if (event?.kind === 'client' && event.type === 'OrderPlaced') {
    const placement: OrderPlacement = { id, placedAt: event.occurredAt };
    return { orderPlacements: placement };
  }
  if (event?.kind === 'server' && waitsForDecision(before)) {
    const decision: OrderDecision = {
      id,
      decidedAt: event.occurredAt,
      outcome: event.type === 'OrderConfirmed' ? 'confirmed' : 'rejected',
    };
    return { orderDecisions: decision };
  }
  return {};
}

export const orderReadModels: ReadModels<OrderState, ClientOrderEvent, ServerOrderEvent> = {
  tables: orderLayout.tables,
  rows: (change) => ({ ...listRows(change), ...acknowledgementRows(change) }),
  counters: orderCounters,
};
