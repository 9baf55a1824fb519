import type { WireClientEvent, WireServerEvent } from '../protocol/messages';

/**
 * What the protocol's server side needs from durable storage. Implementations: in-memory (the MSW mock and
 * tests) and SQLite (the reference server). One contract suite (test/server/storage-contract.ts) runs
 * against each.
 *
 * Work runs in synchronous callbacks so that a whole batch is one atomic unit on every backend: better-sqlite3
 * runs the callback inside one SQLite transaction, the in-memory store applies it or rolls it back. A
 * callback must not await anything.
 */
export interface ServerStorage {
  /** Runs `work` atomically: every write in it commits together, or none does if it throws. */
  transaction<T>(work: (tx: ServerStorageTx) => T): Promise<T>;
  /** Runs read-only `work` against a consistent view. */
  read<T>(work: (reader: ServerStorageReader) => T): Promise<T>;
  close(): Promise<void>;
}

export interface ServerStats {
  readonly eventsStored: number;
  readonly streams: number;
  readonly serverEvents: number;
  /** How many server events of each type the server has decided (`OrderConfirmed`, `CountAccepted`, …). */
  readonly serverEventsByType: Readonly<Record<string, number>>;
  readonly duplicatesAnswered: number;
}

export type CounterName = 'duplicatesAnswered';

export interface ServerStorageReader {
  /** The client event stored under this id, exactly as it was accepted. */
  findClientEvent(eventId: string): WireClientEvent | undefined;
  /** Every client event of the stream, ascending version. */
  streamEvents(streamId: string): readonly WireClientEvent[];
  /** The stream's last stored client version; 0 for an unknown stream. */
  streamVersion(streamId: string): number;
  /**
   * The highest serverSeq assigned so far, 0 before the first server event. Inside a transaction the next
   * `appendServerEvent` gets exactly this + 1: the server needs the number before writing, because an
   * order number is derived from it (`SO-000042` for serverSeq 42).
   */
  lastServerSeq(): number;
  /**
   * Server events of the streams this client pushed, serverSeq > afterSeq, ascending, at most `limit`. With
   * `owner`, only streams that user owns (`claimStream`): a clientId someone else names shows them nothing.
   */
  serverEventsForClient(
    clientId: string,
    afterSeq: number,
    limit: number,
    owner?: string,
  ): readonly WireServerEvent[];
  /** The user who owns the stream; undefined for an unknown stream or one stored without sign-in. */
  streamOwner(streamId: string): string | undefined;
  /** The user who owns the clientId; undefined while no signed-in user has pushed with it. */
  clientOwner(clientId: string): string | undefined;
  stats(): ServerStats;
}

export interface ServerStorageTx extends ServerStorageReader {
  /**
   * Stores an accepted client event. Throws `StorageConflictError` if the eventId or the (streamId, version)
   * pair is already stored: the storage enforces uniqueness itself, whatever the caller checked before.
   */
  appendClientEvent(event: WireClientEvent, clientId: string): void;
  /** Stores a server decision and assigns it the next serverSeq. */
  appendServerEvent(event: Omit<WireServerEvent, 'serverSeq'>): WireServerEvent;
  /** Records that this client pushed to this stream, so its pulls include the stream's server events. */
  linkClientToStream(clientId: string, streamId: string): void;
  increment(counter: CounterName, by?: number): void;
  /**
   * Makes `owner` the stream's owner if it has none; nothing if it is already theirs. Throws
   * `StorageConflictError` ('owner') if another user owns it: checked by the storage, in the transaction
   * that appends the events, so two server instances cannot both hand one stream out.
   */
  claimStream(streamId: string, owner: string): void;
  /** The same for a clientId. */
  claimClient(clientId: string, owner: string): void;
}

export class StorageConflictError extends Error {
  constructor(
    readonly constraint: 'eventId' | 'streamVersion' | 'owner',
    message: string,
  ) {
    super(message);
    this.name = 'StorageConflictError';
  }
}
