import { useSyncExternalStore } from 'react';

/**
 * Hash routes: the app is one static file set served by the service worker offline, so a hash keeps every
 * screen reachable on reload without the server knowing any route.
 */
export type Route =
  | { readonly name: 'orders' }
  | { readonly name: 'order'; readonly orderId: string }
  | { readonly name: 'new' }
  | { readonly name: 'outbox' }
  | { readonly name: 'insights' };

const ORDER_ROUTE = /^#\/orders\/([0-9a-f-]{36})$/i;

/**
 * Where the screen of a stream lives, by its stream type: the outbox inspector links each entry to it.
 * A stream type without a screen links nowhere (null).
 */
const SCREENS: Readonly<Record<string, string>> = { order: '#/orders/' };

export function hrefOfStream(streamId: string): string | null {
  const dash = streamId.indexOf('-');
  const screen = SCREENS[streamId.slice(0, dash)];
  return screen && dash > 0 ? `${screen}${streamId.slice(dash + 1)}` : null;
}

export function parseRoute(hash: string): Route {
  const order = ORDER_ROUTE.exec(hash);
  if (order?.[1]) return { name: 'order', orderId: order[1].toLowerCase() };
  switch (hash) {
    case '#/new':
      return { name: 'new' };
    case '#/outbox':
      return { name: 'outbox' };
    case '#/insights':
      return { name: 'insights' };
    default:
      return { name: 'orders' };
  }
}

export function hrefOf(route: Route): string {
  switch (route.name) {
    case 'order':
      return `#/orders/${route.orderId}`;
    case 'orders':
      return '#/orders';
    case 'new':
      return '#/new';
    case 'outbox':
      return '#/outbox';
    case 'insights':
      return '#/insights';
    default: {
      const unknownRoute: never = route;
      return unknownRoute;
    }
  }
}

export function navigate(route: Route): void {
  window.location.hash = hrefOf(route);
}

const subscribe = (onChange: () => void): (() => void) => {
  window.addEventListener('hashchange', onChange);
  return () => window.removeEventListener('hashchange', onChange);
};

export const useHash = (): string => useSyncExternalStore(subscribe, () => window.location.hash);
