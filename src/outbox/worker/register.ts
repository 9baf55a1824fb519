/// <reference lib="webworker" />
import './background-sync';
import { SYNC_CHANNEL_NAME } from '../device/sync/sync-channel';
import { BACKGROUND_SYNC_TAG, PERIODIC_SYNC_TAG } from '../device/worker-messages';
import type { WorkerBackend } from './backend';
import { handleWorkerMessage } from './messages';
import { createWorkerSync, type WorkerSync, type WorkerSyncOptions } from './worker-sync';

/** What `registerWorkerSync` takes: the worker's sync, with the channel and the update check defaulted. */
export type RegisterWorkerSyncOptions = Omit<
  WorkerSyncOptions,
  'channelName' | 'updateWaiting' | 'backend'
> & {
  /** A server living inside the worker (a demo's mock); none by default: requests go to the network. */
  readonly backend?: Promise<WorkerBackend | null>;
  /** The channel the contexts tell each other about flushes on; the pages' default if left out. */
  readonly channelName?: string;
};

/**
 * The outbox's side of a service worker, wired to its events: a flush when the worker starts and when it
 * activates (after claiming the open pages), the Background Sync and Periodic Background Sync events the
 * pages register, and the pages' messages ("sync now", "skip waiting", a demo backend's). Call it once, at
 * the top level of the worker script. The flushes run on plain IndexedDB, under the same lock as the pages'.
 */
export function registerWorkerSync(
  scope: ServiceWorkerGlobalScope,
  options: RegisterWorkerSyncOptions,
): WorkerSync {
  const backend = options.backend ?? Promise.resolve(null);
  const sync = createWorkerSync({
    ...options,
    backend,
    channelName: options.channelName ?? SYNC_CHANNEL_NAME,
    // A waiting version cannot activate while a sync event is pending: the loop yields to it.
    updateWaiting: () => scope.registration.waiting !== null,
  });
  // The browser stops idle workers and starts them again for the next event. Each start flushes what is
  // pending: where Background Sync is missing, disabled or its event was dropped, a start (a navigation, a
  // page's message) is the worker's next chance, and it costs one claim that finds nothing when all is sent.
  void sync.flushQuietly('start');
  scope.addEventListener('activate', (event) => {
    // Claim first so pages opened before the worker are controlled (their fetches reach a worker's backend);
    // the flush runs after and is not awaited, or fetches would queue behind a slow network.
    event.waitUntil(scope.clients.claim().then(() => void sync.flushQuietly('activate')));
  });
  scope.addEventListener('sync', (event) => {
    if (event.tag !== BACKGROUND_SYNC_TAG) return;
    // The event keeps the worker alive while it retries on the outbox's own schedule; only a budget spent
    // with entries still waiting rejects it, and the browser then retries minutes later with its own backoff.
    event.waitUntil(sync.flushForBackgroundSync());
  });
  scope.addEventListener('periodicsync', (event) => {
    if (event.tag !== PERIODIC_SYNC_TAG) return;
    event.waitUntil(sync.flushForPeriodicSync());
  });
  scope.addEventListener('message', (event) => {
    handleWorkerMessage(event, { sync, backend, skipWaiting: () => scope.skipWaiting() });
  });
  return sync;
}
