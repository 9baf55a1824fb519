/**
 * Which path drives the outbox in this page: the service worker's Background Sync, or the page itself
 * (Firefox, Safari, WebViews, Background Sync disabled, or forced for tests and support).
 */
export type SyncMode = 'background-sync' | 'fallback';

/** localStorage key that forces a mode; `?sync=fallback` in the URL does the same for one visit. */
export const SYNC_MODE_SETTING = 'outpost.syncMode';

export interface SyncModeEnvironment {
  readonly search: string;
  readonly storedSetting: string | null;
  readonly hasServiceWorker: boolean;
  readonly hasBackgroundSync: boolean;
}

export function chooseSyncMode(env: SyncModeEnvironment): SyncMode {
  const forced = new URLSearchParams(env.search).get('sync') ?? env.storedSetting;
  if (forced === 'fallback') return 'fallback';
  return env.hasServiceWorker && env.hasBackgroundSync ? 'background-sync' : 'fallback';
}

export function detectSyncMode(): SyncMode {
  let storedSetting: string | null = null;
  try {
    storedSetting = localStorage.getItem(SYNC_MODE_SETTING);
  } catch {
    // Storage blocked (private mode, policy): no forced setting then.
  }
  return chooseSyncMode({
    search: location.search,
    storedSetting,
    hasServiceWorker: 'serviceWorker' in navigator,
    hasBackgroundSync:
      typeof ServiceWorkerRegistration !== 'undefined' && 'sync' in ServiceWorkerRegistration.prototype,
  });
}
