import { lazy, Suspense, useEffect, useMemo, useState } from 'react';
import type { Outpost } from '../app/outpost';
import type { IdGenerator } from '../outbox';
import {
  browserNotifier,
  type NotificationService,
  startNotificationService,
} from '../subscribers/notifications';
import { defaultIds, OutpostProvider } from './outpost-context';
import { OUTBOX_HREF, useHash } from './routing';
import { StatusBar, UpdatePrompt, VanishedNotice } from './status-bar';
import { streamScreens } from './stream-screens';
import type { NavItem, RoutedScreen, StreamScreens } from './stream-ui';
import { Toasts } from './toasts';
import './styles.css';

// The first screen is the first stream type's first one (the orders list) and the status bar; everything
// else is fetched when first opened, so a first visit downloads less before it can show it. The worker
// precaches every chunk, so offline navigation still finds them.
const OutboxInspectorScreen = lazy(() =>
  import('./screens/outbox-inspector').then((m) => ({ default: m.OutboxInspectorScreen })),
);
const DemoControls = lazy(() => import('./demo-controls').then((m) => ({ default: m.DemoControls })));

export interface AppProps {
  readonly outpost: Outpost;
  /** Where command and order ids come from; UUIDv7 by default, fixed in tests. */
  readonly ids?: IdGenerator;
  /** The stream types' screens; the app's own list by default. */
  readonly streams?: StreamScreens;
}

/** The app's own screen, after every stream type's. */
const OUTBOX_NAV: NavItem = { href: OUTBOX_HREF, label: 'Outbox' };

/**
 * The whole app. It owns the event-bus subscribers (they live as long as the page, whichever screen is
 * open) and picks the screen from the hash.
 */
export function App({ outpost, ids = defaultIds, streams = streamScreens }: AppProps) {
  const [notifications, setNotifications] = useState<NotificationService | null>(null);
  useEffect(() => {
    // Analytics are the order's read models, kept in each command's own transaction: nothing runs per commit.
    const service = startNotificationService({
      bus: outpost.bus,
      db: outpost.db,
      toastOf: streams.toastOf,
      refusalToastOf: (record) => {
        const href = streams.hrefOfStream(record.streamId);
        return href
          ? {
              id: record.eventId,
              tone: 'error',
              title: `A change to a ${streams.nounOfStream(record.streamId)} no longer applies`,
              body: `Another device changed it first: ${record.data.message}`,
              href,
              linkLabel: `Open the ${streams.nounOfStream(record.streamId)}`,
            }
          : null;
      },
      system: browserNotifier(),
    });
    setNotifications(service);
    return () => service.stop();
  }, [outpost, streams]);

  const context = useMemo(
    () => ({ outpost, ids, notifications, streams }),
    [outpost, ids, notifications, streams],
  );
  const routed = screenOf(useHash(), streams);
  const nav = [...streams.nav, OUTBOX_NAV];

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
        <a className="brand" href={streams.nav[0]?.href ?? OUTBOX_HREF}>
          Outpost
        </a>
        <nav aria-label="Main">
          <ul className="nav">
            {nav.map((item) => (
              <li key={item.href}>
                <a href={item.href} aria-current={routed.nav === item.href ? 'page' : undefined}>
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
      <VanishedNotice />
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
          {routed.element}
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

/** The screen of a hash route: a stream type's, the outbox's, or the first stream type's first one. */
function screenOf(hash: string, streams: StreamScreens): RoutedScreen {
  const found = streams.screen(hash);
  if (found) return found;
  if (hash === OUTBOX_HREF) return { element: <OutboxInspectorScreen />, nav: OUTBOX_HREF };
  const first = streams.nav[0];
  const fallback = first ? streams.screen(first.href) : null;
  return fallback ?? { element: <OutboxInspectorScreen />, nav: OUTBOX_HREF };
}
