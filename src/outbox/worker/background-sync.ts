/**
 * Background Sync and Periodic Background Sync are not in lib.webworker (they are Chromium-only), so their
 * types are declared here. Imported
 * for its types only by the worker entry.
 */
declare global {
  interface SyncEvent extends ExtendableEvent {
    readonly tag: string;
    /** True when the browser will not retry this registration after this attempt. */
    readonly lastChance: boolean;
  }

  /** Periodic Background Sync: Chromium, for an installed app whose permission is granted. */
  interface PeriodicSyncEvent extends ExtendableEvent {
    readonly tag: string;
  }

  interface ServiceWorkerGlobalScopeEventMap {
    sync: SyncEvent;
    periodicsync: PeriodicSyncEvent;
  }
}

export {};
