import { lazy } from 'react';
import type { StreamScreen } from '../../ui/stream-ui';
import { STOCKCOUNT } from '../stream-ids';
import { countNotice } from './count-notice';
import { hrefOf, parseCountRoute } from './routes';

const StockCountsScreen = lazy(() =>
  import('./stock-counts').then((m) => ({ default: m.StockCountsScreen })),
);
const StockCountSheetScreen = lazy(() =>
  import('./stock-count-sheet').then((m) => ({ default: m.StockCountSheetScreen })),
);

/** The stock count's screens, as the app's UI lists them (`src/ui/stream-screens.ts`). */
export const stockCountScreens: StreamScreen = {
  name: STOCKCOUNT,
  noun: 'stock count',
  href: (countId) => hrefOf({ name: 'count', countId }),
  nav: [{ href: hrefOf({ name: 'counts' }), label: 'Stock counts', short: 'Counts' }],
  screen(hash) {
    const route = parseCountRoute(hash);
    if (!route) return null;
    const list = hrefOf({ name: 'counts' });
    return route.name === 'counts'
      ? { element: <StockCountsScreen />, nav: list }
      : { element: <StockCountSheetScreen key={route.countId} countId={route.countId} />, nav: list };
  },
  notice: countNotice,
};
