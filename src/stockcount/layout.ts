import type { StreamLayout } from '../outbox';
import { STOCKCOUNT } from './stream-ids';

/**
 * The stock count's tables, apart from its code: what the page's database opens with before the count's
 * schemas, decider and server rules have loaded. `stockCounts` is one row per count (the list),
 * `stockCountLines` one per count (the sheet), `stockCountCounts` the list's totals (all, and per status) as
 * counter rows, so the list counts a row however many closed counts the device keeps.
 */
export const stockCountLayout = {
  name: STOCKCOUNT,
  tables: {
    stockCounts: '&id, status, location, updatedAt',
    stockCountLines: '&id',
    stockCountCounts: '&id',
  },
} as const satisfies StreamLayout;
