import { idInRoute, navigateTo } from '../../ui/routing';

/** The stock count's screens, by hash route. */
export type CountRoute = { readonly name: 'counts' } | { readonly name: 'count'; readonly countId: string };

export function parseCountRoute(hash: string): CountRoute | null {
  const countId = idInRoute(hash, '#/counts/');
  if (countId) return { name: 'count', countId };
  return hash === '#/counts' ? { name: 'counts' } : null;
}

export function hrefOf(route: CountRoute): string {
  return route.name === 'count' ? `#/counts/${route.countId}` : '#/counts';
}

export const navigate = (route: CountRoute): void => navigateTo(hrefOf(route));
