import { map, type Observable } from 'rxjs';
import {
  type Clock,
  type DeliveryView,
  liveStream,
  type OutboxEntry,
  type OutpostDb,
  type StoredEvent,
} from '../outbox/views';
import type { CountLine } from './domain/events';
import type { StockCountLines, StockCountSummary } from './read-models';
import { streamIdOf } from './stream-ids';

/** One count as its sheet shows it: the summary, the lines, where its changes are, and its events. */
export interface StockCountView {
  readonly summary: StockCountSummary;
  readonly lines: readonly CountLine[];
  readonly delivery: DeliveryView;
  /** The count's undelivered outbox entries (join by eventId; no entry: delivered). */
  readonly outbox: readonly OutboxEntry[];
  /** Every stored event of the count, in the order they were stored: its timeline. */
  readonly events: readonly StoredEvent[];
  /** Set once the person discarded a dead entry: events from this version on will never be delivered. */
  readonly discardedFromVersion: number | undefined;
}

/** One count, live; null while it does not exist. The core's `liveStream` does the reading. */
export function liveStockCount(
  db: OutpostDb,
  countId: string,
  clock: Clock,
): Observable<StockCountView | null> {
  return liveStream(db, streamIdOf(countId), clock).pipe(
    map((view): StockCountView | null => {
      const summary = view?.rows.stockCounts as StockCountSummary | undefined;
      if (!view || !summary) return null;
      return {
        summary,
        lines: (view.rows.stockCountLines as StockCountLines | undefined)?.lines ?? [],
        delivery: view.delivery,
        outbox: view.outbox,
        events: view.events,
        discardedFromVersion: view.stream?.discardedFromVersion,
      };
    }),
  );
}
