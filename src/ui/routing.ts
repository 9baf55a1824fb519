import { useSyncExternalStore } from 'react';

/**
 * Hash routes: the app is one static file set served by the service worker offline, so a hash keeps every
 * screen reachable on reload without the server knowing any route. Each stream type parses and writes its
 * own routes (its `page/routes.ts`); the app's own screens are the outbox's.
 */

/** The hash of one stream's screen under `prefix` (`#/orders/`), or null when the hash is not one. */
export function idInRoute(hash: string, prefix: string): string | null {
  if (!hash.startsWith(prefix)) return null;
  const id = hash.slice(prefix.length);
  return /^[0-9a-f-]{36}$/i.test(id) ? id.toLowerCase() : null;
}

export function navigateTo(href: string): void {
  window.location.hash = href;
}

/** The app's own screen: the outbox inspector. */
export const OUTBOX_HREF = '#/outbox';

const subscribe = (onChange: () => void): (() => void) => {
  window.addEventListener('hashchange', onChange);
  return () => window.removeEventListener('hashchange', onChange);
};

export const useHash = (): string => useSyncExternalStore(subscribe, () => window.location.hash);
