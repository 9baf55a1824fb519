import type { Retention } from '../outbox';
import type { StockCountState } from './domain/stock-count';

/**
 * Which counts may leave the device once old (the core's `retention.ts`): those whose figures are final,
 * accepted or rejected by the server, or abandoned. A count keeps no counter rows, so none outlive it.
 */
export const stockCountRetention: Retention<StockCountState> = {
  settled: (state) =>
    state.status === 'accepted' || state.status === 'rejected' || state.status === 'abandoned',
  keepsCounter: () => false,
};
