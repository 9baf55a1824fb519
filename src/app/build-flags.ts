/**
 * Build-time switches shared by the page and the service worker. Vite's `define` (vite.config.ts) replaces
 * `__OUTPOST_DEMO__` in both builds; under vitest it is undefined, which reads as "not demo".
 */
declare const __OUTPOST_DEMO__: boolean | undefined;

export const DEMO_BUILD: boolean = typeof __OUTPOST_DEMO__ !== 'undefined' && __OUTPOST_DEMO__ === true;

/**
 * Whether the page and the worker read the feed (every device's orders and counts, and races settled by
 * deciding again: docs/sync.md, "The feed"). Not in a demo build: its server lives in this browser's worker,
 * so there is no other device to read, and it speaks protocol v1 (its feed routes would only answer 404).
 */
export const READS_FEED: boolean = !DEMO_BUILD;

/** Default base of the sync API: same origin, overridable at build time with VITE_SYNC_URL. */
export const DEFAULT_SYNC_PATH = '/api/sync';

/** The sync endpoint as an absolute URL, resolved against the page's or the worker's origin. */
export function resolveSyncEndpoint(origin: string, configured: string | undefined): string {
  const raw = configured && configured.trim() !== '' ? configured.trim() : DEFAULT_SYNC_PATH;
  return new URL(raw, origin).href.replace(/\/+$/, '');
}

export const configuredSyncUrl = (): string | undefined =>
  (import.meta.env as Record<string, string | undefined>).VITE_SYNC_URL;
