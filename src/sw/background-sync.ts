/**
 * Background Sync is not in lib.webworker (it is Chromium-only), so its types are declared here. Imported
 * for its types only by the worker entry.
 */
declare global {
  interface SyncEvent extends ExtendableEvent {
    readonly tag: string;
    /** True when the browser will not retry this registration after this attempt. */
    readonly lastChance: boolean;
  }

  interface ServiceWorkerGlobalScopeEventMap {
    sync: SyncEvent;
  }
}

export {};
