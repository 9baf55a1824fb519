import { lazy } from 'react';
import type { StreamScreen } from '../../ui/stream-ui';
import { ORDER } from '../stream-ids';
import { orderNotice } from './order-notice';
import { OrdersListScreen } from './orders-list';
import { hrefOf, parseOrderRoute } from './routes';

// The orders list is the app's first screen; every other one is fetched when first opened.
const OrderDetailScreen = lazy(() =>
  import('./order-detail').then((m) => ({ default: m.OrderDetailScreen })),
);
const NewOrderScreen = lazy(() => import('./new-order').then((m) => ({ default: m.NewOrderScreen })));
const InsightsScreen = lazy(() => import('./insights').then((m) => ({ default: m.InsightsScreen })));

/** The order's screens, as the app's UI lists them (`src/ui/stream-screens.ts`). */
export const orderScreens: StreamScreen = {
  name: ORDER,
  noun: 'order',
  href: (orderId) => hrefOf({ name: 'order', orderId }),
  nav: [
    { href: hrefOf({ name: 'orders' }), label: 'Orders' },
    { href: hrefOf({ name: 'new' }), label: 'New order' },
    { href: hrefOf({ name: 'insights' }), label: 'Insights' },
  ],
  screen(hash) {
    const route = parseOrderRoute(hash);
    switch (route?.name) {
      case undefined:
        return null;
      case 'orders':
        return { element: <OrdersListScreen />, nav: hrefOf(route) };
      case 'order':
        // Keyed so moving between orders resets every form on the screen.
        return {
          element: <OrderDetailScreen key={route.orderId} orderId={route.orderId} />,
          nav: hrefOf({ name: 'orders' }),
        };
      case 'new':
        return { element: <NewOrderScreen />, nav: hrefOf(route) };
      case 'insights':
        return { element: <InsightsScreen />, nav: hrefOf(route) };
      default: {
        const unknownRoute: never = route;
        return unknownRoute;
      }
    }
  },
  notice: orderNotice,
};
