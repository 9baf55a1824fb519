import type { ClientEventOf, ServerPolicy } from '../../outbox';
import type { ClientOrderEvent, ServerOrderEvent } from '../domain/events';
import type { OrderState } from '../domain/order';
import { decidePlacement, orderNumberFor } from './placement-decision';
import { streamRuleBreach } from './stream-rules';

/**
 * Orders on the server (protocol v1): the rules every server enforces on an order's stream, and the decision
 * it appends when an order is placed, a confirmation numbered after its serverSeq or a rejection.
 */
export const orderServerPolicy: ServerPolicy<OrderState, ClientOrderEvent, ServerOrderEvent> = {
  breach: (state, event) => streamRuleBreach(state, event),
  decide(before, event: ClientEventOf<ClientOrderEvent>, context) {
    if (event.type !== 'OrderPlaced') return [];
    const lines = before.status === 'none' ? [] : before.lines;
    const decision = decidePlacement(lines, event.data.total);
    if (decision.type === 'OrderRejected') {
      const { code, reason, skus } = decision;
      return [{ type: 'OrderRejected', data: { code, reason, ...(skus ? { skus: [...skus] } : {}) } }];
    }
    const confirmedAt = new Date(context.now).toISOString();
    return [
      {
        type: 'OrderConfirmed',
        data: { orderNumber: orderNumberFor(context.nextServerSeq), confirmedAt },
      },
    ];
  },
};
