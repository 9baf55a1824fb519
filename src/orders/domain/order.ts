import type { Currency } from './currency';
import type { OrderEvent } from './events';

export interface OrderLine {
  readonly sku: string;
  readonly name: string;
  readonly quantity: number;
  readonly unitPrice: number;
  /**
   * Sum of quantity × unitPrice over the line's additions since it was last removed: the sync protocol
   * defines an order's total this way, so the client computes it exactly as every server does.
   */
  readonly amount: number;
}

export type OrderStatus = 'draft' | 'placed' | 'confirmed' | 'rejected' | 'cancelled';

interface OrderFacts {
  readonly orderId: string;
  readonly customerName: string;
  readonly currency: Currency;
  readonly lines: readonly OrderLine[];
  /** Whether an OrderPlaced was folded in; a cancelled order may or may not have been placed. */
  readonly placed: boolean;
  /** Number of client events folded in: the stream's version. */
  readonly version: number;
  readonly orderNumber: string | null;
  readonly rejection: Rejection | null;
  readonly cancellationReason: string | null;
  /**
   * The order this one was copied from, or null. Optional: snapshots written before copies existed have
   * none, which reads as null.
   */
  readonly copiedFrom?: string | null;
}

/** The server's refusal: a code, its words, and (when it names them) the lines it is about. */
export interface Rejection {
  readonly code: string;
  readonly reason: string;
  readonly skus?: readonly string[];
}

/** The aggregate's state, discriminated by status; `none` before the order exists. */
export type OrderState =
  | { readonly status: 'none'; readonly version: 0 }
  | (OrderFacts & { readonly status: OrderStatus });

export const initialOrderState: OrderState = { status: 'none', version: 0 };

export const orderTotal = (lines: readonly OrderLine[]): number =>
  lines.reduce((sum, line) => sum + line.amount, 0);

/**
 * Which status the facts add up to. Cancellation wins over every server decision, whatever order the events
 * arrive in, so a client and a server that hold the same events agree on the status (docs/protocol.md).
 */
function statusOf(facts: OrderFacts): OrderStatus {
  if (facts.cancellationReason !== null) return 'cancelled';
  if (facts.rejection) return 'rejected';
  if (facts.orderNumber) return 'confirmed';
  return facts.placed ? 'placed' : 'draft';
}

/** Pure and total: any event on any state yields a state, so replays and late server events never throw. */
export function evolve(state: OrderState, event: OrderEvent): OrderState {
  if (state.status === 'none') {
    if (event.type !== 'OrderCreated') return state;
    return {
      status: 'draft',
      orderId: event.data.orderId,
      customerName: event.data.customerName,
      currency: event.data.currency,
      lines: [],
      placed: false,
      version: 1,
      orderNumber: null,
      rejection: null,
      cancellationReason: null,
      copiedFrom: event.data.copiedFrom ?? null,
    };
  }
  const next = (facts: OrderFacts): OrderState => ({ ...facts, status: statusOf(facts) });
  switch (event.type) {
    case 'OrderCreated':
      return { ...state, version: state.version + 1 };
    case 'ProductAdded': {
      const { sku, name, quantity, unitPrice } = event.data;
      const existing = state.lines.find((line) => line.sku === sku);
      const lines = existing
        ? state.lines.map((line) =>
            line.sku === sku
              ? {
                  ...line,
                  name,
                  unitPrice,
                  quantity: line.quantity + quantity,
                  amount: line.amount + quantity * unitPrice,
                }
              : line,
          )
        : [...state.lines, { sku, name, quantity, unitPrice, amount: quantity * unitPrice }];
      return next({ ...state, lines, version: state.version + 1 });
    }
    case 'ProductRemoved':
      return next({
        ...state,
        lines: state.lines.filter((line) => line.sku !== event.data.sku),
        version: state.version + 1,
      });
    case 'OrderPlaced':
      return next({ ...state, placed: true, version: state.version + 1 });
    case 'OrderCancelled':
      return next({ ...state, cancellationReason: event.data.reason, version: state.version + 1 });
    case 'OrderConfirmed':
      return next({ ...state, orderNumber: event.data.orderNumber });
    case 'OrderRejected':
      return next({ ...state, rejection: event.data });
    default: {
      const unknownEvent: never = event;
      return unknownEvent;
    }
  }
}

export const foldOrder = (events: Iterable<OrderEvent>, from: OrderState = initialOrderState): OrderState => {
  let state = from;
  for (const event of events) state = evolve(state, event);
  return state;
};
