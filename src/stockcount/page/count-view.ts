import type { Observable } from 'rxjs';
import type { Clock } from '../../outbox';
import type { OutpostDb } from '../../outbox/page';
import { liveStreamScreen, type StreamActivity } from '../../outbox/page/stream';
import type { CountLine } from '../domain/events';
import type { StockCountLines, StockCountSummary } from '../read-models';
import { streamIdOf } from '../stream-ids';

/** One count as its sheet shows it: the summary and the lines, with where its changes are and its events. */
export interface StockCountView extends StreamActivity {
  readonly summary: StockCountSummary;
  readonly lines: readonly CountLine[];
}

/** One count, live; null while it does not exist. The core's `liveStream` does the reading. */
export function liveStockCount(
  db: OutpostDb,
  countId: string,
  clock: Clock,
): Observable<StockCountView | null> {
  return liveStreamScreen(db, streamIdOf(countId), clock, (rows) => {
    const summary = rows.stockCounts as StockCountSummary | undefined;
    return summary
      ? { summary, lines: (rows.stockCountLines as StockCountLines | undefined)?.lines ?? [] }
      : null;
  });
}
