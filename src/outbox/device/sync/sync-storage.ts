import type { IdGenerator } from '../../ids';
import type { OutboxDatabase } from '../../storage/outbox-database';
import { type Account, readAccount, replaceClientIdWithin } from './account';
import { getOrCreateClientId } from './client-id';
import { type DeviceRecord, type DeviceRegistered, readDevice, recordDevice } from './device-record';
import { type FeedState, readFeedState } from './feed-state';
import { type FeedPageStored, type FeedPageToStore, storeFeedPage } from './feed-store';
import {
  type AnswerApplied,
  type ApplyOptions,
  applyAndClaim,
  type Claim,
  type ClaimOptions,
  claimBatch,
  type PullPage,
  type PullPageStored,
  storePullPage,
} from './outbox-store';
import { patchSyncMeta, readPullCursor, readSyncMeta, type SyncMeta, type SyncMetaPatch } from './sync-meta';

/** What the sync engine asks of storage: the part the service worker needs, and all of it it loads. */
export interface SyncStorage {
  /** This profile's clientId, made with `newId` the first time and kept; two tabs starting together agree. */
  clientId(newId: IdGenerator): Promise<string>;
  /** The engine's persisted facts (gate, auth pause, owed pull…); the initial facts when none are stored. */
  readSyncMeta(): Promise<SyncMeta>;
  /** Read-modify-write of those facts: a function patch sees the facts as they are inside the transaction. */
  patchSyncMeta(patch: SyncMetaPatch): Promise<SyncMeta>;
  /** Where the next pull starts (for the clientId whose cursor `key` names, the device's by default); null before the first. */
  readPullCursor(key?: string): Promise<string | null>;
  /** Who the device sends as, each user's clientId, and whose sign-in parked rows wait for. */
  readAccount(): Promise<Account>;
  /** The server gave `user`'s clientId to someone else (`403 client_id_taken`): a fresh one, made with `newId`. */
  replaceClientId(user: string, newId: IdGenerator): Promise<void>;
  /**
   * Claims the next batch: deletes expired lease records (which alone returns their rows), takes pending
   * rows under the lane rule within the batch's limits, and leases them with one record keyed by
   * `batchId`. Nothing is leased when `entries` is empty; the claim then stores when a waiting lane is due.
   */
  claimBatch(request: ClaimOptions): Promise<Claim>;
  /**
   * Records a push's answer (rows delivered, dead or back to pending with a backoff, the batch's lease
   * deleted, its server events stored and projected, delivery facts and sync facts), then, when `next` is
   * given, claims the next batch in the same transaction: one durable commit per batch. A lease another
   * flusher took over keeps its rows, except that a delivery is recorded whoever holds the row.
   */
  applyAnswer(answer: ApplyOptions, next: ClaimOptions | null): Promise<AnswerApplied>;
  /**
   * Stores a pull page's server events not stored yet (by eventId), projects them, and moves the cursor to
   * `page.cursor` only when it still is `page.since` (a concurrent pull never sets it back).
   */
  storePullPage(page: PullPage): Promise<PullPageStored>;
  /** Where this device stands in the feed for the clientId whose record `key` names (`feedStateKey`). */
  readFeedState(key: string): Promise<FeedState>;
  /**
   * Stores a feed page in one transaction: other devices' events and the server's decisions into the event
   * store and read models, this device's own events that came back as delivered, and this device's unsent
   * commands decided again where another device took their versions (`feed-store.ts`); the feed record moves
   * only from `page.expected`.
   */
  storeFeedPage(page: FeedPageToStore): Promise<FeedPageStored>;
  /** This device's name and what the server last heard of it. */
  readDevice(): Promise<DeviceRecord>;
  /** The server heard of this device (and perhaps said its database vanished since its last visit). */
  recordDevice(registered: DeviceRegistered): Promise<void>;
}

/** The sync part of the storage port over a database (`outbox-storage.ts`). */
export function syncStorage(database: OutboxDatabase): SyncStorage {
  return {
    clientId: (newId) => getOrCreateClientId(database, newId),
    readSyncMeta: () => readSyncMeta(database),
    patchSyncMeta: (patch) => patchSyncMeta(database, patch),
    readPullCursor: (key) => readPullCursor(database, key),
    readAccount: () => readAccount(database),
    replaceClientId: (user, newId) =>
      database.transact('rw', ['meta'], (records) => replaceClientIdWithin(records, user, newId)),
    claimBatch: (request) => claimBatch(database, request),
    applyAnswer: (answer, next) => applyAndClaim(database, answer, next),
    storePullPage: (page) => storePullPage(database, page),
    readFeedState: (key) => readFeedState(database, key),
    storeFeedPage: (page) => storeFeedPage(database, page),
    readDevice: () => readDevice(database),
    recordDevice: (registered) => recordDevice(database, registered),
  };
}
