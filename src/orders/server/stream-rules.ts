import type { ClientEventOf } from '../../outbox';
import type { ClientOrderEvent } from '../domain/events';
import { type OrderState, orderTotal } from '../domain/order';
import { orderIdOf } from '../stream-ids';

/**
 * The rules protocol v1 makes every server enforce on a stream (docs/protocol.md), checked against the
 * state the domain's own `evolve` folds from the stored events: client and server read a stream the same
 * way. Returns why the event breaks a rule, or null when it may be stored.
 */
export function streamRuleBreach(state: OrderState, event: ClientEventOf<ClientOrderEvent>): string | null {
  if (state.status === 'none') {
    if (event.type !== 'OrderCreated') return `The stream must start with OrderCreated, not ${event.type}`;
    // UUIDs compare case-insensitively: the stream id and the payload may spell them differently.
    if (event.data.orderId.toLowerCase() !== orderIdOf(event.streamId).toLowerCase()) {
      return `OrderCreated's orderId ${event.data.orderId} is not the stream's order id`;
    }
    if (event.data.copiedFrom?.toLowerCase() === event.data.orderId.toLowerCase()) {
      return 'OrderCreated cannot name its own order as the one it was copied from';
    }
    return null;
  }
  const closed = state.placed || state.cancellationReason !== null;
  switch (event.type) {
    case 'OrderCreated':
      return 'The order already exists: a stream has only one OrderCreated';
    case 'ProductAdded':
      return closed ? `Products cannot be added: the order is ${state.status}` : null;
    case 'ProductRemoved': {
      if (closed) return `Products cannot be removed: the order is ${state.status}`;
      const held = state.lines.some((line) => line.sku === event.data.sku);
      return held ? null : `The order holds no ${event.data.sku}`;
    }
    case 'OrderPlaced': {
      if (closed) return `The order cannot be placed: it is ${state.status}`;
      if (state.lines.length === 0) return 'An order needs at least one line to be placed';
      const total = orderTotal(state.lines);
      return event.data.total === total
        ? null
        : `OrderPlaced total ${event.data.total} does not match the lines' total ${total}`;
    }
    case 'OrderCancelled':
      return state.cancellationReason === null ? null : 'The order is already cancelled';
    default: {
      const unknownEvent: never = event;
      return unknownEvent;
    }
  }
}
