/// <reference lib="webworker" />
import { createWorkerBackend } from '#sw-backend';
import { configuredSyncUrl, DEMO_BUILD, READS_FEED, resolveSyncEndpoint } from '../app/build-flags';
import { SCHEMA_VERSION } from '../app/schema-version';
import { systemClock, uuidv7Generator } from '../outbox';
import { registerWorkerSync } from '../outbox/worker';
import { streamTypes } from '../plugins';
import { registerPrecache } from './precache';

/**
 * The service worker: serves the app shell from the precache (so the app opens offline), and flushes the
 * outbox on Background Sync and Periodic Background Sync, on start and activation, and when a page asks
 * (`registerWorkerSync`). In demo builds it also hosts the mock sync server. It never calls
 * skipWaiting on install: a new version waits until the page's "reload to update" prompt is accepted, so an update never interrupts a flush or swaps code under an open form.
 */
declare const self: ServiceWorkerGlobalScope & {
  __WB_MANIFEST: Array<{ url: string; revision: string | null }>;
};

const endpoint = resolveSyncEndpoint(self.location.origin, configuredSyncUrl());
const backendReady = createWorkerBackend({
  endpoint,
  clock: systemClock,
  ids: uuidv7Generator(systemClock),
  isOnline: () => self.navigator.onLine,
});
registerWorkerSync(self, {
  streamTypes,
  schemaVersion: SCHEMA_VERSION,
  endpoint,
  backend: backendReady,
  feed: READS_FEED,
});

/** A same-origin page load that is not the API (opening `/api/sync/health` in a tab must reach the server). */
function isAppNavigation(request: Request): boolean {
  if (request.mode !== 'navigate') return false;
  const url = new URL(request.url);
  return (
    url.origin === self.location.origin &&
    !url.pathname.startsWith('/api/') &&
    !request.url.startsWith(endpoint)
  );
}

const precache = registerPrecache(self, self.__WB_MANIFEST);

// The sync API and navigations are decided first, then the precached files; anything else goes to the network.
self.addEventListener('fetch', (event) => {
  const { request } = event;
  if (DEMO_BUILD && request.url.startsWith(`${endpoint}/`)) {
    event.respondWith(backendReady.then((backend) => (backend ? backend.respond(request) : fetch(request))));
    return;
  }
  if (isAppNavigation(request)) {
    // Any in-app URL (deep links, ?sync=fallback) opens the precached shell; the router takes it from there.
    event.respondWith(precache.match('index.html').then((cached) => cached ?? fetch(request)));
    return;
  }
  const precached = precache.respond(request);
  if (precached) event.respondWith(precached);
});
