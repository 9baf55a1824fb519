import { type CounterIncrement, defineReactions } from '../../outbox';
import { orderTotal } from '../domain/order';
import { ordersOnServer } from './stream-type';

/** Analytics tables of orders (rows keyed by day, by currency, or `all`), each field a count or a sum. */
export const ORDERS_PER_DAY = 'orders_per_day';
export const ORDER_OUTCOMES = 'order_outcomes';
/** Confirmed orders' totals, in integer minor units of each currency. */
export const REVENUE_BY_CURRENCY = 'revenue_by_currency';

const day = (timestamp: string): string => timestamp.slice(0, 10);

// Building an Intl.NumberFormat costs far more than formatting with one: one per currency, kept.
const formats = new Map<string, { readonly format: Intl.NumberFormat; readonly digits: number }>();

/** An amount in minor units as a person reads it (`€28.50`): the currency's own number of decimals. */
function money(minor: number, currency: string): string {
  let known = formats.get(currency);
  if (!known) {
    const format = new Intl.NumberFormat('en', { style: 'currency', currency });
    known = { format, digits: format.resolvedOptions().maximumFractionDigits ?? 2 };
    formats.set(currency, known);
  }
  return known.format.format(minor / 10 ** known.digits);
}

/**
 * What the server's services do with an order's events: the customer hears of each decision (once), and
 * analytics count orders placed, confirmed and rejected per day, and confirmed revenue per currency.
 */
export const orderReactions = defineReactions(ordersOnServer, {
  notify({ after, event }) {
    if (after.status === 'none') return null;
    const recipient = { role: 'customer' as const, name: after.customerName };
    const amount = money(orderTotal(after.lines), after.currency);
    switch (event.type) {
      case 'OrderConfirmed':
        return {
          recipient,
          subject: `Order ${event.data.orderNumber} is confirmed`,
          text: `Your order ${event.data.orderNumber} of ${amount} is confirmed.`,
        };
      case 'OrderRejected':
        return {
          recipient,
          subject: 'Your order was not accepted',
          text: `Your order of ${amount} was not accepted: ${event.data.reason}`,
        };
      default:
        return null;
    }
  },
  analytics({ after, event }): CounterIncrement[] {
    if (after.status === 'none') return [];
    const counted = (field: string): CounterIncrement[] => [
      { table: ORDERS_PER_DAY, id: day(event.occurredAt), add: { [field]: 1 } },
      { table: ORDER_OUTCOMES, id: 'all', add: { [field]: 1 } },
    ];
    switch (event.type) {
      case 'OrderPlaced':
        return counted('placed');
      case 'OrderConfirmed':
        return [
          ...counted('confirmed'),
          { table: REVENUE_BY_CURRENCY, id: after.currency, add: { revenue: orderTotal(after.lines) } },
        ];
      case 'OrderRejected':
        return counted('rejected');
      default:
        return [];
    }
  },
  figures(tables) {
    const outcomes = tables[ORDER_OUTCOMES]?.find((row) => row.id === 'all');
    const confirmed = Number(outcomes?.confirmed ?? 0);
    const rejected = Number(outcomes?.rejected ?? 0);
    return { orderConfirmationRate: confirmed + rejected === 0 ? null : confirmed / (confirmed + rejected) };
  },
});
