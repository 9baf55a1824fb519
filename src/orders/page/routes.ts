import { idInRoute, navigateTo } from '../../ui/routing';

/** The order's screens, by hash route. */
export type OrderRoute =
  | { readonly name: 'orders' }
  | { readonly name: 'order'; readonly orderId: string }
  | { readonly name: 'new' }
  | { readonly name: 'insights' };

export function parseOrderRoute(hash: string): OrderRoute | null {
  const orderId = idInRoute(hash, '#/orders/');
  if (orderId) return { name: 'order', orderId };
  switch (hash) {
    case '#/orders':
      return { name: 'orders' };
    case '#/new':
      return { name: 'new' };
    case '#/insights':
      return { name: 'insights' };
    default:
      return null;
  }
}

export function hrefOf(route: OrderRoute): string {
  switch (route.name) {
    case 'orders':
      return '#/orders';
    case 'order':
      return `#/orders/${route.orderId}`;
    case 'new':
      return '#/new';
    case 'insights':
      return '#/insights';
    default: {
      const unknownRoute: never = route;
      return unknownRoute;
    }
  }
}

export const navigate = (route: OrderRoute): void => navigateTo(hrefOf(route));
