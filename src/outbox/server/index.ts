/**
 * The outbox's server core (`@outpost/outbox/server`): protocol v1's sync server as a web-standard
 * `Request → Response` handler over a storage interface, with sign-in, for any runtime with `fetch`'s types
 * (Node, a service worker, an edge runtime). Re-exports only. Bring your own storage by implementing
 * `ServerStorage`; the in-memory one is here, the reference server's SQLite one lives with that server.
 */
export {
  bearerToken,
  openAccess,
  type Principal,
  type SyncAccess,
  sharedTokenAccess,
} from './access';
export type { AuthCrypto } from './auth/auth-crypto';
export { type AuthHandler, type AuthHandlerOptions, createAuthHandler } from './auth/auth-handler';
export type {
  AuthStore,
  RateCount,
  StoredDeviceToken,
  StoredSession,
  StoredUser,
  UserSummary,
} from './auth/auth-store';
export { createMemoryAuthStore } from './auth/memory-auth-store';
export {
  createUserAccess,
  DEFAULT_LOGIN_LIMITS,
  DEFAULT_SESSION_TTL_MS,
  type LoginLimits,
  type UserAccess,
  type UserAccessOptions,
} from './auth/user-access';
export { type AdminResult, createUserAdmin, type UserAdmin } from './auth/user-admin';
export { behindProxies, type Connection, createOriginCheck, directConnection, type Peer } from './connection';
// The server outbox (docs/server-outbox.md): its rows, the relay over a store and a publisher, and the
// consumer services' runtime over a delivery source and a store, with the stream types' reactions.
export {
  type AnalyticsReader,
  type AnalyticsSummary,
  type CounterCell,
  summarizeAnalytics,
} from './consumers/analytics-summary';
export type {
  ConsumerStore,
  ConsumerTx,
  FailedAttempt,
  FailureRecorded,
  OutgoingMail,
  ParkedMessage,
} from './consumers/consumer-store';
export { type ConsumedEvent, type Decoded, decodeDelivery } from './consumers/decode';
export type { Delivery, DeliverySource } from './consumers/delivery';
export { createReactionRegistry, type ReactionRegistry } from './consumers/reaction-registry';
export {
  type ReplayOptions,
  type ReplayOutcome,
  type ReplayRefusal,
  ReplayRefusedError,
  replayParked,
} from './consumers/replay';
export {
  type ConsumerRuntime,
  type ConsumerRuntimeOptions,
  DEFAULT_INBOX_RETENTION_MS,
  MIN_INBOX_RETENTION_MS,
  startConsumer,
} from './consumers/runtime';
export {
  ANALYTICS,
  analyticsService,
  type ConsumerService,
  consumerServices,
  type EffectContext,
  mailTableTransport,
  NOTIFICATIONS,
  type NotificationTransport,
  notificationService,
  type OwnedIncrement,
} from './consumers/services';
export { createFeedSignal, type FeedListener, type FeedSignal, type FeedSignalOptions } from './feed-signal';
export type {
  DeviceRegistration,
  FeedChanges,
  FeedEntry,
  FeedRead,
  FeedRequest,
  FeedScope,
  FeedStorage,
  HistoryRead,
  HistoryRequest,
  PreviousDevice,
} from './feed-storage';
export { createSyncHandler, type SyncHandler, type SyncServerOptions } from './http';
export { type ErrorCode, errorResponse, jsonResponse } from './http-errors';
export {
  createMemoryStorage,
  type MemorySnapshot,
  MemorySnapshotSchema,
  type MemoryStorage,
  type MemoryStorageOptions,
  StorageClosedError,
} from './memory-storage';
export { formatPullCursor, type PullCursor, parsePullCursor, START_CURSOR } from './pull-cursor';
export { type Backoff, backoffDelay } from './relay/backoff';
export { errorText, type OutboxLog, type OutboxLogRecord, silentOutboxLog } from './relay/log';
export { createMemoryOutbox, type MemoryOutbox } from './relay/memory-outbox';
export {
  type NewOutboxRow,
  type OutboxRow,
  outboxRowsOf,
  parseSubject,
  SUBJECT_PREFIX,
  subjectFor,
} from './relay/outbox-rows';
export type { Publisher } from './relay/publisher';
export {
  DEFAULT_RETENTION_MS,
  type Relay,
  type RelayOptions,
  type RelayState,
  startRelay,
} from './relay/relay';
export {
  type OutboxStats,
  type OutboxStatsReader,
  PUBLISH_RATE_WINDOW_MS,
  type RelayStore,
} from './relay/relay-store';
export {
  type BatchContext,
  type BatchContextRequest,
  type ConflictConstraint,
  EMPTY_STREAM,
  type PulledPage,
  type PullRequest,
  readBatchContext,
  type ServerStats,
  type ServerStorage,
  type ServerStorageReader,
  type ServerStorageTx,
  StorageConflictError,
  StorageUnavailableError,
  type StorageWrite,
  type StoredStream,
} from './storage';
export { takingTurns } from './turns';
