import type { ClientEventOf, ServerPolicy } from '../../outbox';
import type { ClientStockCountEvent, ServerStockCountEvent } from '../domain/events';
import type { StockCountState } from '../domain/stock-count';
import { countNumberFor, decideCount } from './count-decision';
import { streamRuleBreach } from './stream-rules';

/**
 * Stock counts on the server: the rules every server enforces on a count's stream, and the decision it
 * appends when a count is submitted, an acceptance numbered after its serverSeq or a rejection naming the
 * skus to recount. The count is judged on the lines its CountSubmitted carries, which the rules have just
 * checked against the stream.
 */
export const stockCountServerPolicy: ServerPolicy<
  StockCountState,
  ClientStockCountEvent,
  ServerStockCountEvent
> = {
  breach: (state, event) => streamRuleBreach(state, event),
  decide(before, event: ClientEventOf<ClientStockCountEvent>, context) {
    // The rules refuse a submission on a stream with no CountStarted; there is no location to judge then.
    if (event.type !== 'CountSubmitted' || before.status === 'none') return [];
    const decision = decideCount(before.location, event.data.lines);
    if (decision.type === 'CountRejected') {
      const { code, reason, skus } = decision;
      return [{ type: 'CountRejected', data: { code, reason, skus: [...skus] } }];
    }
    const acceptedAt = new Date(context.now).toISOString();
    return [
      { type: 'CountAccepted', data: { countNumber: countNumberFor(context.nextServerSeq), acceptedAt } },
    ];
  },
};
