import type { WireClientEvent, WireServerEvent } from '../protocol/messages';
import type { PullCursor } from './pull-cursor';

/**
 * What the protocol's server side needs from durable storage. Implementations: in-memory (the MSW mock and
 * tests), SQLite (the reference server, one process) and PostgreSQL (several server instances on one
 * database). One contract suite (`runStorageContract`, `server/testing/`) runs against each.
 *
 * A push is one unit of work: read in bulk what the batch touches, decide in memory, write in bulk, all
 * inside one `transaction`, so a batch is stored whole or not at all and costs a handful of round trips on
 * a networked database, whatever its size (docs/decisions.md, 11). Uniqueness is the storage's own: a write
 * that would store an event twice, leave a hole in a stream or give a stream a second owner is refused with
 * `StorageConflictError`, whatever the caller read before; the caller then decides the batch again.
 */
export interface ServerStorage {
  /**
   * Runs `work` atomically: every write in it commits together, or none does if it throws. Transactions
   * may run concurrently (on PostgreSQL they do); each sees its own writes.
   */
  transaction<T>(work: (tx: ServerStorageTx) => Promise<T>): Promise<T>;
  /** Runs read-only `work` against one consistent view. */
  read<T>(work: (reader: ServerStorageReader) => Promise<T>): Promise<T>;
  /** Resolves when the storage can serve requests now; rejects (`StorageUnavailableError`) when it cannot. */
  check(): Promise<void>;
  /** Releases the storage; every later call rejects. Stop the handlers using it first. */
  close(): Promise<void>;
}

/** `GET {base}/stats`: counts over the whole server, for dashboards and tests; no client relies on them. */
export interface ServerStats {
  /** Client events stored (each once, however often it was pushed). */
  readonly eventsStored: number;
  readonly streams: number;
  readonly serverEvents: number;
  /** How many server events of each type the server has decided (`OrderConfirmed`, `CountAccepted`, …). */
  readonly serverEventsByType: Readonly<Record<string, number>>;
  readonly duplicatesAnswered: number;
  /**
   * PostgreSQL only: how long the oldest transaction still open on the database server has been open, in
   * milliseconds (0 when none). Pulls never pass an event written after it began until it ends, so this is
   * how far behind pulls may be held (docs/server.md, "Pulls and open transactions").
   */
  readonly oldestOpenTransactionMs?: number;
}

/** A stream as stored: its client events, ascending version, and its owner (undefined: none yet). */
export interface StoredStream {
  readonly events: readonly WireClientEvent[];
  readonly owner: string | undefined;
}

/** What `streams` answers for a stream never stored; one shared object, so nobody may change it. */
export const EMPTY_STREAM: StoredStream = { events: [], owner: undefined };

/** One page of `pull`: from `since`, for the streams `clientId` pushed to (and `owner` owns, if given). */
export interface PullRequest {
  readonly clientId: string;
  readonly since: PullCursor;
  /** At most this many events; `hasMore` says whether more were readable. */
  readonly limit: number;
  /** With an owner, only streams that user owns: a clientId someone else names shows them nothing. */
  readonly owner?: string;
}

/** One page of server events; a client pulls again from `cursor` while `hasMore`. */
export interface PulledPage {
  /** Server events of the streams the client is linked to, after `since`, in the order pulls read them. */
  readonly events: readonly WireServerEvent[];
  /** Where the next pull resumes: after the last event returned, or `since` itself on an empty page. */
  readonly cursor: PullCursor;
  readonly hasMore: boolean;
}

/** What a push decides on: `ServerStorageReader.batchContext`. */
export interface BatchContextRequest {
  readonly eventIds: readonly string[];
  readonly streamIds: readonly string[];
  readonly clientId: string;
}

/** What `batchContext` read, all at one moment: the facts a push decides on. */
export interface BatchContext {
  /** The stored client events among the eventIds, by eventId. */
  readonly clientEvents: ReadonlyMap<string, WireClientEvent>;
  /** Each of the streamIds as stored. */
  readonly streams: ReadonlyMap<string, StoredStream>;
  /** Who owns the pushing clientId; undefined while nobody does. */
  readonly clientOwner: string | undefined;
}

/** The reads of one consistent view, inside `read` or a transaction; valid only until `work` settles. */
export interface ServerStorageReader {
  /**
   * What `clientEvents`, `streams` and `clientOwner` answer, all read at one moment. A push decides on this:
   * reads made one after another could each see a different set of committed transactions (PostgreSQL's
   * READ COMMITTED), and a batch racing its own copy would then find its events' versions taken but not the
   * events themselves, and refuse them as version conflicts instead of answering duplicate.
   */
  batchContext(request: BatchContextRequest): Promise<BatchContext>;
  /** The stored client events among `eventIds`, by eventId, exactly as they were accepted. */
  clientEvents(eventIds: readonly string[]): Promise<ReadonlyMap<string, WireClientEvent>>;
  /** Each of `streamIds` as stored; an unknown stream has no events and no owner. */
  streams(streamIds: readonly string[]): Promise<ReadonlyMap<string, StoredStream>>;
  /** The user who owns the clientId; undefined while no signed-in user has pushed with it. */
  clientOwner(clientId: string): Promise<string | undefined>;
  /**
   * Server events of the streams this client pushed to, after `since`. A pull never moves past an event
   * that a later reader could still see appear before it: every event it skips over is already readable.
   */
  pull(request: PullRequest): Promise<PulledPage>;
  /** The figures of `GET {base}/stats` now, over every owner (stats are not scoped to a user). */
  stats(): Promise<ServerStats>;
}

/**
 * `batchContext` from the three reads, for a storage where every read of a transaction already sees one moment
 * (SQLite under its write lock, memory taking turns).
 */
export async function readBatchContext(
  reader: Pick<ServerStorageReader, 'clientEvents' | 'streams' | 'clientOwner'>,
  request: BatchContextRequest,
): Promise<BatchContext> {
  return {
    clientEvents: await reader.clientEvents(request.eventIds),
    streams: await reader.streams(request.streamIds),
    clientOwner: await reader.clientOwner(request.clientId),
  };
}

/** What one push writes, all in its transaction. Every part is optional. */
export interface StorageWrite {
  /** Who pushed: linked to `linkedStreams`, and stored with each client event. */
  readonly clientId: string;
  /** Accepted client events, each stream's in ascending version: the next of its stream, or refused. */
  readonly clientEvents?: readonly WireClientEvent[];
  /** Server decisions, each numbered by `allocateServerSeqs` in this transaction. */
  readonly serverEvents?: readonly WireServerEvent[];
  /** Streams whose server events the client's pulls include from now on. */
  readonly linkedStreams?: readonly string[];
  /**
   * Ownership (AUTH=users): the clientId and these streams become `owner`'s where they have no owner, and
   * stay theirs where they have; one owned by somebody else refuses the whole write (`owner`).
   */
  readonly claims?: {
    readonly owner: string;
    readonly client: boolean;
    readonly streams: readonly string[];
  };
  readonly duplicatesAnswered?: number;
}

/** The reads plus the two writes of one push; valid only until the transaction's `work` settles. */
export interface ServerStorageTx extends ServerStorageReader {
  /**
   * `count` serverSeq numbers for the server events this transaction will write, ascending, never handed
   * out to any other transaction: the server needs a number before it decides, because an order number is
   * derived from it (`SO-000042` for serverSeq 42). Numbers a rolled-back transaction took may never be used
   * (PostgreSQL takes them from a sequence), so serverSeqs are unique but may have gaps.
   */
  allocateServerSeqs(count: number): Promise<readonly number[]>;
  /** Writes `changes`; throws `StorageConflictError` (and the transaction must then be abandoned) on a clash. */
  write(changes: StorageWrite): Promise<void>;
}

/** The rule a refused write broke: eventId stored, version taken or skipped, another's stream, deadlock. */
export type ConflictConstraint =
  | 'eventId'
  | 'streamVersion'
  | 'owner'
  /** Two transactions waited on each other and the database gave up one (a deadlock): try again. */
  | 'contention';

/**
 * A write refused by the storage's own uniqueness rules; the transaction is rolled back whole. The handler
 * reads and decides the batch again, and answers 503 if it keeps losing.
 */
export class StorageConflictError extends Error {
  constructor(
    readonly constraint: ConflictConstraint,
    message: string,
  ) {
    super(message);
    this.name = 'StorageConflictError';
  }
}

/**
 * The storage cannot be reached now (the database is restarting, down, or out of connections). A push cut
 * off this way may or may not have committed; the server answers 503 with `Retry-After`, and the client's
 * resend is safe because a push is idempotent (what committed is answered `duplicate`).
 */
export class StorageUnavailableError extends Error {
  readonly code = 'storage_unavailable' as const;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StorageUnavailableError';
  }
}
