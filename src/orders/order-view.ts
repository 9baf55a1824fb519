import { map, type Observable } from 'rxjs';
import {
  type Clock,
  type DeliveryView,
  liveStream,
  type OutboxEntry,
  type OutpostDb,
  type StoredEvent,
} from '../outbox/views';
import type { OrderLine } from './domain/order';
import type { OrderLines, OrderSummary } from './read-models';
import { streamIdOf } from './stream-ids';

/** One order as its screen shows it: the summary, the lines, where its changes are, and its events. */
export interface OrderView {
  readonly summary: OrderSummary;
  readonly lines: readonly OrderLine[];
  readonly delivery: DeliveryView;
  /** The order's undelivered outbox entries (join by eventId; no entry: delivered, `deliveryStateOf`). */
  readonly outbox: readonly OutboxEntry[];
  /** Every stored event of the order, in the order they were stored: its timeline. */
  readonly events: readonly StoredEvent[];
  /** Set once the person discarded a dead entry: events from this version on will never be delivered. */
  readonly discardedFromVersion: number | undefined;
}

/**
 * One order, live; null while it does not exist. The core's `liveStream` does the reading (any writer, any
 * context, the order's own commands the moment they commit, and again when a lease over it passes).
 */
export function liveOrder(db: OutpostDb, orderId: string, clock: Clock): Observable<OrderView | null> {
  return liveStream(db, streamIdOf(orderId), clock).pipe(
    map((view): OrderView | null => {
      const summary = view?.rows.orders as OrderSummary | undefined;
      if (!view || !summary) return null;
      return {
        summary,
        lines: (view.rows.orderLines as OrderLines | undefined)?.lines ?? [],
        delivery: view.delivery,
        outbox: view.outbox,
        events: view.events,
        discardedFromVersion: view.stream?.discardedFromVersion,
      };
    }),
  );
}
