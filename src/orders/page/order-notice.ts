import { type OutpostDb, readModelTable, type StoredServerEvent } from '../../outbox/page';
import type { Notice } from '../../ui/stream-ui';
import type { OrderSummary } from '../read-models';
import { orderEventOf } from '../stored-events';
import { orderIdOf } from '../stream-ids';

/** The server's decision on an order, in words: with the customer's name the person recognises. */
export async function orderNotice(event: StoredServerEvent, db: OutpostDb): Promise<Notice | null> {
  const order = orderEventOf(event);
  if (order?.kind !== 'server') return null;
  const summary = await readModelTable<OrderSummary>(db, 'orders').get(orderIdOf(event.streamId));
  const customer = summary?.customerName ?? 'An order';
  return order.type === 'OrderConfirmed'
    ? {
        tone: 'success',
        title: `Order ${order.data.orderNumber} confirmed`,
        body: `${customer}'s order was confirmed by the server.`,
        linkLabel: 'Open order',
      }
    : {
        tone: 'error',
        title: 'Order rejected',
        body: `${customer}'s order was rejected: ${order.data.reason}`,
        linkLabel: 'Open order',
      };
}
