/// <reference lib="webworker" />
/**
 * The outbox in a service worker (`@outpost/outbox/worker`): the same sync engine the pages run, over the
 * same database through plain IndexedDB (no Dexie), woken by Background Sync, Periodic Background Sync, the
 * worker's start and the pages' messages. Re-exports only.
 */
export type { FlushReport } from '../device/sync/flush-report';
export { SYNC_CHANNEL_NAME } from '../device/sync/sync-channel';
export {
  BACKGROUND_SYNC_TAG,
  type DemoArrival,
  type DemoServerState,
  PERIODIC_SYNC_TAG,
  type WorkerRequest,
} from '../device/worker-messages';
export type { WorkerBackend } from './backend';
export { handleWorkerMessage, type MessageDeps } from './messages';
export { type RegisterWorkerSyncOptions, registerWorkerSync } from './register';
export {
  createWorkerSync,
  SYNC_EVENT_BUDGET_MS,
  type WorkerSync,
  type WorkerSyncOptions,
} from './worker-sync';
