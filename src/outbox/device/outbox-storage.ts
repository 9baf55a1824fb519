import type { IdGenerator } from '../ids';
import type { Result } from '../result';
import type { OutboxDatabase } from '../storage/outbox-database';
import { type Appended, type AppendRequest, appendCommands } from './commands/append-commands';
import { rebuildReadModels } from './read-models/rebuild';
import { type Account, readAccount, replaceClientIdWithin } from './sync/account';
import { getOrCreateClientId } from './sync/client-id';
import {
  type DeadLetter,
  type DiscardOrder,
  type DiscardOutcome,
  discardDeadLetterEntry,
  listDeadLetters,
  retryDeadLetter,
} from './sync/dead-letters';
import type { DeadLetterError } from './sync/errors';
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
} from './sync/outbox-store';
import {
  SIGN_IN_TABLES,
  type SignedIn,
  type SignInRequest,
  signInWithin,
  signOutWithin,
} from './sync/sign-in';
import { readSyncFacts, type SyncFacts } from './sync/sync-facts';
import {
  patchSyncMeta,
  readPullCursor,
  readSyncMeta,
  type SyncMeta,
  type SyncMetaPatch,
} from './sync/sync-meta';

/**
 * The outbox's storage port: what the outbox does with its database, one operation per call, each one
 * transaction (everything it reads and writes commits together or not at all), in the outbox's own words.
 * Written once over an `OutboxDatabase`; the pages' Dexie database and the worker's plain IndexedDB one are
 * its two implementations, and `test/unit/idb/outbox-storage-contract.ts` holds both to the same contract.
 *
 * Time and ids enter as data (`now`, `newId`), so an operation never reads a clock of its own.
 */

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
}

/** Everything the outbox does with storage: the sync engine's part, and what the pages do besides. */
export interface OutboxStorage extends SyncStorage {
  /**
   * Appends a command group: reads what the group's streams and commandIds have stored, lets `decide`
   * choose (pure, synchronous, inside the transaction), and writes the chosen events with their outbox rows,
   * command rows, snapshots, read models and delivery facts.
   */
  appendCommands<P>(request: AppendRequest<P>): Promise<Appended<P>>;
  /** Counts, the oldest undelivered entry, the leases holding rows and the sync facts, read together. */
  readSyncFacts(): Promise<SyncFacts>;
  /** Every dead entry, oldest first. */
  listDeadLetters(): Promise<DeadLetter[]>;
  /** A dead entry and the dead ones after it in its stream back to pending; resolves their eventIds. */
  retryDeadLetter(eventId: string): Promise<Result<string[], DeadLetterError>>;
  /** A dead entry and every later undelivered one of its stream discarded, with one record each. */
  discardDeadLetter(order: DiscardOrder): Promise<Result<DiscardOutcome, DeadLetterError>>;
  /**
   * `user` signed in: the device sends as them from now on, under their clientId; rows written by someone
   * else wait (parked), theirs go, and the sign-in pause ends (sync/account.ts). One transaction.
   */
  signIn(request: SignInRequest): Promise<SignedIn>;
  /** Nobody is signed in any more; no row changes. */
  signOut(): Promise<void>;
  /** The read models, snapshots and delivery facts thrown away and replayed from the event store. */
  rebuildReadModels(pageSize?: number): Promise<void>;
}

/** The engine's part of the port, and nothing else: what the worker's bundle carries. */
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
  };
}

export function outboxStorage(database: OutboxDatabase): OutboxStorage {
  return {
    ...syncStorage(database),
    appendCommands: (request) => appendCommands(database, request),
    readSyncFacts: () => readSyncFacts(database),
    listDeadLetters: () => listDeadLetters(database),
    retryDeadLetter: (eventId) => retryDeadLetter(database, eventId),
    discardDeadLetter: (order) => discardDeadLetterEntry(database, order),
    rebuildReadModels: (pageSize) => rebuildReadModels(database, pageSize),
    signIn: (request) => database.transact('rw', SIGN_IN_TABLES, (records) => signInWithin(records, request)),
    signOut: () => database.transact('rw', ['meta'], signOutWithin),
  };
}
