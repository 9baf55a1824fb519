/**
 * The outbox in a web page (`@outpost/outbox/page`): open it, execute commands, read live views, follow the
 * sync status, deal with dead letters, retention and sign-in, register the service worker. Page only: it
 * brings Dexie, which the service worker and the server never load. Re-exports only.
 */

export {
  type DeliveryState,
  type DeliveryView,
  deliveryStateOf,
  deliveryView,
  leasedStreamIds,
  liveLeases,
  nextLeaseChange,
  type OutboxEntry,
  type OutboxEntryStatus,
} from '../device/read-models/outbox-view';
export type {
  BlockedFacts,
  DeliveryRow,
  OutboxRow,
  StoredClientEvent,
  StoredEvent,
  StoredLocalEvent,
  StoredServerEvent,
  StoredSyncState,
  StreamRow,
  SyncState,
} from '../storage/rows';
export type { CommittedStream } from './committed-views';
export { type OutpostDb, readModelTable } from './database';
export { overTime } from './over-time';
export { type DeliveryViews, readDeliveries, readDeliveryViews } from './queries';
export { liveStream, liveStreamScreen, type StreamActivity, type StreamView } from './stream-view';
