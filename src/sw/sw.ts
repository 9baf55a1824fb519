/// <reference lib="webworker" />
import '../outbox/worker/background-sync';
import { cleanupOutdatedCaches, matchPrecache, precacheAndRoute } from 'workbox-precaching';
import { createWorkerBackend } from '#sw-backend';
import { configuredSyncUrl, DEMO_BUILD, resolveSyncEndpoint } from '../app/build-flags';
import { SCHEMA_VERSION } from '../app/schema-version';
import { SYNC_CHANNEL_NAME } from '../outbox/device/sync/sync-channel';
import { BACKGROUND_SYNC_TAG, PERIODIC_SYNC_TAG } from '../outbox/device/worker-messages';
import { systemClock, uuidv7Generator } from '../outbox/ids';
import { handleWorkerMessage } from '../outbox/worker/messages';
import { createWorkerSync } from '../outbox/worker/worker-sync';
import { streamTypes } from '../plugins';

/**
 * The service worker: serves the app shell from the precache (so the app opens offline), and flushes the
 * outbox on Background Sync and Periodic Background Sync, on start and activation, and when a page asks. In demo builds it also hosts the mock
 * sync server. It never calls skipWaiting on install: a new version waits until the page's "reload to
 * update" prompt is accepted, so an update never interrupts a flush or swaps code under an open form.
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
const sync = createWorkerSync({
  streamTypes,
  schemaVersion: SCHEMA_VERSION,
  endpoint,
  backend: backendReady,
  channelName: SYNC_CHANNEL_NAME,
  updateWaiting: () => self.registration.waiting !== null,
});

// The browser stops idle workers and starts them again for the next event. Each start flushes what is
// pending: where Background Sync is missing, disabled or its event was dropped, a start (a navigation, a
// page's message) is the worker's next chance, and it costs one claim that finds nothing when all is sent.
void sync.flushQuietly('start');

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

// Registered before the precache route so the sync API and navigations are decided here first.
self.addEventListener('fetch', (event) => {
  const { request } = event;
  if (DEMO_BUILD && request.url.startsWith(`${endpoint}/`)) {
    event.respondWith(backendReady.then((backend) => (backend ? backend.respond(request) : fetch(request))));
    return;
  }
  if (isAppNavigation(request)) {
    // Any in-app URL (deep links, ?sync=fallback) opens the precached shell; the router takes it from there.
    event.respondWith(matchPrecache('index.html').then((cached) => cached ?? fetch(request)));
  }
});

precacheAndRoute(self.__WB_MANIFEST);
cleanupOutdatedCaches();

self.addEventListener('activate', (event) => {
  // Claim first so pages opened before the worker are controlled (their fetches reach the demo server);
  // the flush runs after and is not awaited, or fetches would queue behind a slow network.
  event.waitUntil(self.clients.claim().then(() => void sync.flushQuietly('activate')));
});

self.addEventListener('sync', (event) => {
  if (event.tag !== BACKGROUND_SYNC_TAG) return;
  // The event keeps the worker alive while it retries on the outbox's own schedule; only a budget spent with
  // entries still waiting rejects it, and the browser then retries minutes later with its own backoff.
  event.waitUntil(sync.flushForBackgroundSync());
});

self.addEventListener('periodicsync', (event) => {
  if (event.tag !== PERIODIC_SYNC_TAG) return;
  event.waitUntil(sync.flushForPeriodicSync());
});

self.addEventListener('message', (event) => {
  handleWorkerMessage(event, { sync, backend: backendReady, skipWaiting: () => self.skipWaiting() });
});
