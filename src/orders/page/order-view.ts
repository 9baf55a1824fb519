import type { Observable } from 'rxjs';
import type { Clock } from '../../outbox';
import type { OutpostDb } from '../../outbox/page';
import { liveStreamScreen, type StreamActivity } from '../../outbox/page/stream';
import type { OrderLine } from '../domain/order';
import type { OrderLines, OrderSummary } from '../read-models';
import { streamIdOf } from '../stream-ids';

/** One order as its screen shows it: the summary and the lines, with where its changes are and its events. */
export interface OrderView extends StreamActivity {
  readonly summary: OrderSummary;
  readonly lines: readonly OrderLine[];
}

/**
 * One order, live; null while it does not exist. The core's `liveStream` does the reading (any writer, any
 * context, the order's own commands the moment they commit, and again when a lease over it passes).
 */
export function liveOrder(db: OutpostDb, orderId: string, clock: Clock): Observable<OrderView | null> {
  return liveStreamScreen(db, streamIdOf(orderId), clock, (rows) => {
    const summary = rows.orders as OrderSummary | undefined;
    return summary ? { summary, lines: (rows.orderLines as OrderLines | undefined)?.lines ?? [] } : null;
  });
}
