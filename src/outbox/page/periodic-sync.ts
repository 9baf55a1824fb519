import { PERIODIC_SYNC_TAG } from '../device/worker-messages';

/**
 * Asks for a `periodicsync` wake-up of the worker where the browser grants it (Chromium, for an installed
 * app with enough engagement; nowhere else). It is the backstop for the app left closed: a one-off sync that
 * failed three times is dropped by Chromium, and a periodic one wakes the worker again to send what waits
 * and pull the server's decisions.
 *
 * Twelve hours: Chromium never fires a periodic sync more often than that for any site
 * (`min_periodic_sync_events_interval`), so asking for less buys nothing, and each wake-up costs the
 * person battery and data whether or not anything waits.
 */
export const PERIODIC_SYNC_MIN_INTERVAL_MS = 12 * 60 * 60 * 1_000;

interface PeriodicSyncManagerLike {
  register(tag: string, options: { minInterval: number }): Promise<void>;
}

/** Resolves whether the wake-up is registered; never rejects (it is a bonus, not a requirement). */
export async function registerPeriodicSync(
  registration: Promise<ServiceWorkerRegistration>,
): Promise<boolean> {
  try {
    const manager = (
      (await registration) as ServiceWorkerRegistration & { periodicSync?: PeriodicSyncManagerLike }
    ).periodicSync;
    if (!manager || !navigator.permissions) return false;
    const permission = await navigator.permissions.query({
      name: 'periodic-background-sync' as PermissionName,
    });
    if (permission.state !== 'granted') return false;
    await manager.register(PERIODIC_SYNC_TAG, { minInterval: PERIODIC_SYNC_MIN_INTERVAL_MS });
    return true;
  } catch {
    return false;
  }
}
