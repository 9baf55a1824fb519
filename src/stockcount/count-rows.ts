import type { StockCountStatus } from './domain/stock-count';

/**
 * The shape of the stock count list's counter rows and the list's key into them: no runtime import, so the
 * list reads its total without the read models' fold or the domain.
 */

/** What a row of `stockCountCounts` counts: every count on the list, or those of one status. */
export type StockCountCountKey = 'all' | `status:${StockCountStatus}`;

/** A row of `stockCountCounts`. */
export interface StockCountCount {
  readonly id: StockCountCountKey;
  readonly count: number;
}

export const stockCountListKey = (status?: StockCountStatus): StockCountCountKey =>
  status ? `status:${status}` : 'all';
