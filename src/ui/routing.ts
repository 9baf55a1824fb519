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
  | { readonly name: 'insights' }
  | { readonly name: 'counts' }
  | { readonly name: 'count'; readonly countId: string };

const ORDER_ROUTE = /^#\/orders\/([0-9a-f-]{36})$/i;
const COUNT_ROUTE = /^#\/counts\/([0-9a-f-]{36})$/i;

export function parseRoute(hash: string): Route {
  const order = ORDER_ROUTE.exec(hash);
  if (order?.[1]) return { name: 'order', orderId: order[1].toLowerCase() };
  const count = COUNT_ROUTE.exec(hash);
  if (count?.[1]) return { name: 'count', countId: count[1].toLowerCase() };
  switch (hash) {
    case '#/counts':
      return { name: 'counts' };
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
    case 'counts':
      return '#/counts';
    case 'count':
      return `#/counts/${route.countId}`;
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
