import { lazy, Suspense, useEffect, useMemo, useState } from 'react';
import type { Outpost } from '../app/outpost';
import type { IdGenerator } from '../outbox/ids';
import {
  browserNotifier,
  type NotificationService,
  startNotificationService,
} from '../subscribers/notifications';
import { defaultIds, OutpostProvider } from './outpost-context';
import { parseRoute, type Route, useHash } from './routing';
import { OrdersListScreen } from './screens/orders-list';
import { StatusBar, UpdatePrompt } from './status-bar';
import { Toasts } from './toasts';
import './styles.css';

// The first screen is the orders list and the status bar; everything else is fetched when first opened, so
// a first visit downloads less before it can show orders. The worker precaches every chunk, so offline
// navigation still finds them.
const OrderDetailScreen = lazy(() =>
  import('./screens/order-detail').then((m) => ({ default: m.OrderDetailScreen })),
);
const NewOrderScreen = lazy(() => import('./screens/new-order').then((m) => ({ default: m.NewOrderScreen })));
const OutboxInspectorScreen = lazy(() =>
  import('./screens/outbox-inspector').then((m) => ({ default: m.OutboxInspectorScreen })),
);
const StockCountsScreen = lazy(() =>
  import('./screens/stock-counts').then((m) => ({ default: m.StockCountsScreen })),
);
const StockCountSheetScreen = lazy(() =>
  import('./screens/stock-count-sheet').then((m) => ({ default: m.StockCountSheetScreen })),
);
const InsightsScreen = lazy(() => import('./screens/insights').then((m) => ({ default: m.InsightsScreen })));
const DemoControls = lazy(() => import('./demo-controls').then((m) => ({ default: m.DemoControls })));

export interface AppProps {
  readonly outpost: Outpost;
  /** Where command and order ids come from; UUIDv7 by default, fixed in tests. */
  readonly ids?: IdGenerator;
}

/** `short`: what a phone's one row of navigation shows; the link's name stays `label`, which contains it. */
const NAV: readonly { route: Route['name']; href: string; label: string; short?: string }[] = [
  { route: 'orders', href: '#/orders', label: 'Orders' },
  { route: 'new', href: '#/new', label: 'New order' },
  { route: 'counts', href: '#/counts', label: 'Stock counts', short: 'Counts' },
  { route: 'outbox', href: '#/outbox', label: 'Outbox' },
  { route: 'insights', href: '#/insights', label: 'Insights' },
];

/**
 * The whole app. It owns the event-bus subscribers (they live as long as the page, whichever screen is
 * open) and picks the screen from the hash.
 */
export function App({ outpost, ids = defaultIds }: AppProps) {
  const [notifications, setNotifications] = useState<NotificationService | null>(null);
  useEffect(() => {
    // Analytics are the order's read models, kept in each command's own transaction: nothing runs per commit.
    const service = startNotificationService({ bus: outpost.bus, db: outpost.db, system: browserNotifier() });
    setNotifications(service);
    return () => service.stop();
  }, [outpost]);

  const context = useMemo(() => ({ outpost, ids, notifications }), [outpost, ids, notifications]);
  const route = parseRoute(useHash());
  const current = route.name === 'order' ? 'orders' : route.name === 'count' ? 'counts' : route.name;

  return (
    <OutpostProvider value={context}>
      <button
        type="button"
        className="skip-link"
        // The hash is the route, so a "#main" link would navigate: move focus instead.
        onClick={() => document.getElementById('main')?.focus()}
      >
        Skip to content
      </button>
      <header className="app-header">
        <a className="brand" href="#/orders">
          Outpost
        </a>
        <nav aria-label="Main">
          <ul className="nav">
            {NAV.map((item) => (
              <li key={item.route}>
                <a href={item.href} aria-current={current === item.route ? 'page' : undefined}>
                  <span className="nav__full">{item.label}</span>
                  {item.short ? (
                    <span className="nav__short" aria-hidden>
                      {item.short}
                    </span>
                  ) : null}
                </a>
              </li>
            ))}
          </ul>
        </nav>
      </header>
      <StatusBar />
      <Toasts />
      <UpdatePrompt />
      <main id="main" className="main" tabIndex={-1}>
        <Suspense
          fallback={
            <p className="muted" role="status" aria-busy="true">
              Loading screen…
            </p>
          }
        >
          <Screen route={route} />
        </Suspense>
      </main>
      {/* After the work, not above it: the demo's fault switches are for whoever tries the app out. */}
      {outpost.demo ? (
        <Suspense fallback={null}>
          <DemoControls demo={outpost.demo} />
        </Suspense>
      ) : null}
    </OutpostProvider>
  );
}

function Screen({ route }: { readonly route: Route }) {
  switch (route.name) {
    case 'orders':
      return <OrdersListScreen />;
    case 'order':
      // Keyed so moving between orders resets every form on the screen.
      return <OrderDetailScreen key={route.orderId} orderId={route.orderId} />;
    case 'new':
      return <NewOrderScreen />;
    case 'outbox':
      return <OutboxInspectorScreen />;
    case 'insights':
      return <InsightsScreen />;
    case 'counts':
      return <StockCountsScreen />;
    case 'count':
      return <StockCountSheetScreen key={route.countId} countId={route.countId} />;
    default: {
      const unknownRoute: never = route;
      return unknownRoute;
    }
  }
}
