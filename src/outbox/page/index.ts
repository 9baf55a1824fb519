/**
 * The outbox in a web page (`@outpost/outbox/page`): open it, execute commands, read live views, follow the
 * sync status, deal with dead letters, retention and sign-in, register the service worker. Page only: it
 * brings Dexie, which the service worker and the server never load. Re-exports only.
 */
export type {
  CommandOutcome,
  CommandRequest,
  CommandResult,
} from '../device/commands/command-pipeline';
export {
  type CommandError,
  CommandIdReusedError,
  StorageError,
  type StorageErrorCode,
  StreamArchivedError,
  StreamDiscardedError,
  StreamNeedsUpdateError,
} from '../device/commands/errors';
export { EventBus } from '../device/event-bus';
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
export type { ArchiveCandidate, ArchiveOutcome } from '../device/read-models/retention';
export { type RetentionSetting, RetentionSettingError } from '../device/read-models/retention-setting';
export type { DeadLetter } from '../device/sync/dead-letters';
export { DeadLetterError, type DeadLetterErrorCode } from '../device/sync/errors';
export type { FlushOutcome, FlushReport } from '../device/sync/flush-report';
export type { SignedIn } from '../device/sync/sign-in';
export type { SyncFacts } from '../device/sync/sync-facts';
export type { ProgressListener, WorkProgress } from '../progress';
export type {
  BlockedFacts,
  DeliveryRow,
  OutboxRow,
  OutboxStatus,
  RefusalCause,
  RefusalFacts,
  StoredClientEvent,
  StoredDiscardRecord,
  StoredEvent,
  StoredLocalEvent,
  StoredRefusalRecord,
  StoredServerEvent,
  StoredSyncState,
  StoredUnreadEvent,
  StreamRow,
  SyncState,
} from '../storage/rows';
export type { SignInFailure } from './auth-client';
export type { CommittedStream } from './committed-views';
export {
  DB_NAME,
  type OpenOutboxDbOptions,
  type OutpostDb,
  openOutboxDb,
  readModelTable,
  type SchemaVersion,
  streamTypesOf,
} from './database';
export { type LiveReadObserver, type LiveReadOptions, liveRead } from './live-read';
export { type NetworkPort, type OpenOutboxOptions, type Outbox, openOutbox } from './outbox';
export { overTime } from './over-time';
export type { PageSyncPorts, SyncChannel } from './page-sync';
export {
  type DeliveryViews,
  type OutboxSection,
  type OutboxSections,
  readDeliveries,
  readDeliveryViews,
  readOutboxSections,
  readWithDeliveries,
} from './queries';
export {
  type RegisterWorkerOptions,
  registerWorker,
  type WorkerHandle,
  WorkerRequestError,
} from './register-worker';
export type { ArchiveDue, RetentionControls } from './retention-controls';
export { sameData } from './same-data';
export type { SyncPhase, SyncStatus } from './status';
export type { StorageInfo } from './storage-estimate';
export {
  type BrowserEngine,
  browserPersistence,
  type PersistencePort,
  type PersistenceState,
  type PersistenceWatch,
  type StoragePersistence,
  watchPersistence,
} from './storage-persistence';
export type { PageSignals, WakeReason } from './sync-driver';
export type { SyncMode } from './sync-mode';
