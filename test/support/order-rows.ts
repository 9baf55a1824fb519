import type { OrderSummary } from '../../src/orders/read-models';
import { streamIdOf } from '../../src/orders/stream-ids';
import type { DeliveryRow, OutpostDb, StoredSyncState } from '../../src/outbox/page';
import { readModelTable } from '../../src/outbox/page';
import { heldBackText } from '../../src/ui/components/delivery-callout';

/**
 * An order's list row as the tests check it: the `orders` read model with the core's delivery facts of its
 * stream beside it (`syncState`, `retryAt`, and the held-back sentence the order screen shows).
 */
export interface OrderRowForTests extends OrderSummary {
  readonly orderId: string;
  readonly syncState: StoredSyncState;
  readonly retryAt: number | null;
  readonly blockedReason: string | null;
  readonly delivery: DeliveryRow | undefined;
}

export async function orderSummary(db: OutpostDb, orderId: string): Promise<OrderRowForTests | undefined> {
  const [summary, delivery] = await Promise.all([
    readModelTable<OrderSummary>(db, 'orders').get(orderId),
    db.deliveries.get(streamIdOf(orderId)),
  ]);
  if (!summary) return undefined;
  return {
    ...summary,
    orderId: summary.id,
    syncState: delivery?.state ?? 'delivered',
    retryAt: delivery?.retryAt ?? null,
    blockedReason: delivery ? heldBackText(delivery, 'order') : null,
    delivery,
  };
}

/** Every order summary on the device, with its delivery facts, in id order. */
export async function orderSummaries(db: OutpostDb): Promise<OrderRowForTests[]> {
  const rows = await readModelTable<OrderSummary>(db, 'orders').toArray();
  const all = await Promise.all(rows.map((row) => orderSummary(db, row.id)));
  return all.filter((row): row is OrderRowForTests => row !== undefined);
}
