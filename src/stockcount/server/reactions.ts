import { type CounterIncrement, defineReactions } from '../../outbox';
import { stockCountsOnServer } from './stream-type';

/** Stock counts submitted, accepted and rejected (one row, `all`). */
export const COUNT_OUTCOMES = 'count_outcomes';

/**
 * What the server's services do with a stock count's events: the shop hears of each decision on a count
 * (once), and analytics count submissions and their outcomes.
 */
export const stockCountReactions = defineReactions(stockCountsOnServer, {
  notify({ after, event }) {
    if (after.status === 'none') return null;
    const recipient = { role: 'shop' as const, name: after.location };
    switch (event.type) {
      case 'CountAccepted':
        return {
          recipient,
          subject: `Stock count ${event.data.countNumber} is accepted`,
          text: `The stock count at ${after.location} is accepted as ${event.data.countNumber}.`,
        };
      case 'CountRejected':
        return {
          recipient,
          subject: `Stock count at ${after.location} needs a recount`,
          text: `${event.data.reason}${event.data.skus.length > 0 ? ` (recount ${event.data.skus.join(', ')})` : ''}`,
        };
      default:
        return null;
    }
  },
  analytics({ event }): CounterIncrement[] {
    const count = (field: string): CounterIncrement[] => [
      { table: COUNT_OUTCOMES, id: 'all', add: { [field]: 1 } },
    ];
    switch (event.type) {
      case 'CountSubmitted':
        return count('submitted');
      case 'CountAccepted':
        return count('accepted');
      case 'CountRejected':
        return count('rejected');
      default:
        return [];
    }
  },
});
