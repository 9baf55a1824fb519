/**
 * The outbox core's public entry for a stream type's page-side views (its lists and screens): live reads of
 * its streams with their delivery facts, joined the way every view must show them. Only pages import this
 * entry: it brings Dexie, which the worker and the server never load.
 */
export type { CommittedStream } from './client/committed-views';
export type {
  BlockedFacts,
  DeliveryRow,
  OutboxRow,
  OutpostDb,
  StoredClientEvent,
  StoredEvent,
  StoredLocalEvent,
  StoredServerEvent,
  StoredSyncState,
  StreamRow,
  SyncState,
} from './client/db';
export { readModelTable } from './client/db';
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
} from './client/outbox-view';
export { overTime } from './client/over-time';
export { type DeliveryViews, readDeliveries, readDeliveryViews } from './client/queries';
export {
  liveStream,
  liveStreamScreen,
  type StreamActivity,
  type StreamView,
} from './client/stream-view';
export type { Clock } from './ids';
export { streamIdFor } from './stream-ids';
