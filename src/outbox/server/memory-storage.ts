import * as v from 'valibot';
import { UuidSchema } from '../fields';
import { type Clock, systemClock } from '../ids';
import {
  StreamIdSchema,
  type WireClientEvent,
  WireClientEventSchema,
  type WireServerEvent,
  WireServerEventSchema,
} from '../protocol/messages';
import type { FeedStorage } from './feed-storage';
import { createMemoryFeed, type MemoryFeedItem } from './memory-feed';
import { createMemoryOutbox } from './relay/memory-outbox';
import { outboxRowsOf } from './relay/outbox-rows';
import type { OutboxStatsReader, RelayStore } from './relay/relay-store';
import {
  readBatchContext,
  type ServerStats,
  type ServerStorage,
  type ServerStorageReader,
  type ServerStorageTx,
  StorageConflictError,
} from './storage';
import { takingTurns } from './turns';

type CounterName = 'duplicatesAnswered';

/**
 * Everything the in-memory storage holds, as plain JSON: the demo service worker persists it in its own
 * IndexedDB database after each commit and hands it back as `initial` when the worker restarts.
 */
export const MemorySnapshotSchema = v.object({
  format: v.literal(1),
  clientEvents: v.array(v.object({ clientId: UuidSchema, event: WireClientEventSchema })),
  serverEvents: v.array(WireServerEventSchema),
  clientStreams: v.array(v.object({ clientId: UuidSchema, streamId: StreamIdSchema })),
  counters: v.object({ duplicatesAnswered: v.pipe(v.number(), v.safeInteger(), v.minValue(0)) }),
  // Optional: snapshots saved before ownership existed (the demo worker's IndexedDB) still load.
  streamOwners: v.optional(v.array(v.object({ streamId: StreamIdSchema, owner: v.string() })), []),
  clientOwners: v.optional(v.array(v.object({ clientId: UuidSchema, owner: v.string() })), []),
  // Optional: the feed's order (eventIds as committed) and the devices' names, absent from older snapshots,
  // which then feed their client events before their server events.
  feed: v.optional(v.array(UuidSchema)),
  devices: v.optional(
    v.array(v.object({ clientId: UuidSchema, name: v.string(), updatedAt: v.number() })),
    [],
  ),
});
/** What `snapshot()` returns and `initial` takes: a deep copy, safe to keep, send or store as JSON. */
export type MemorySnapshot = v.InferOutput<typeof MemorySnapshotSchema>;

/** Any use of the in-memory storage (or its feed) after `close()`: it rejects, and nothing is written. */
export class StorageClosedError extends Error {
  readonly code = 'storage_closed' as const;
  constructor() {
    super('The storage is closed');
    this.name = 'StorageClosedError';
  }
}

/** Every field optional: an empty store on the system clock that tells nobody of its commits. */
export interface MemoryStorageOptions {
  /** State to start from; checked against `MemorySnapshotSchema` (it may come from an old IndexedDB). */
  readonly initial?: MemorySnapshot;
  /**
   * Called after every transaction that changed something, with the state as it now stands. Must not throw:
   * the transaction has committed by then, so a throw goes to `onCommitError` and the caller still hears
   * that its write succeeded.
   */
  readonly onCommit?: (snapshot: MemorySnapshot) => void;
  /** Hears what `onCommit` threw; by default nothing does (the commit stands either way). */
  readonly onCommitError?: (error: unknown) => void;
  /** Stamps the server outbox's rows; the system clock unless a test injects one. */
  readonly clock?: Clock;
}

/** A `ServerStorage` that can also hand out its state, with its feed and server outbox on the same memory. */
export type MemoryStorage = ServerStorage & {
  /** The committed state as a copy; call it between transactions (in `onCommit`, or once one settled). */
  snapshot(): MemorySnapshot;
  /** The feed extension on the same memory (docs/protocol.md, "The feed"). */
  readonly feed: FeedStorage;
  /** The server outbox its writes fill (not part of the snapshot: the mock never relays). */
  readonly outbox: RelayStore & OutboxStatsReader;
};

interface StoredClientEvent {
  readonly event: WireClientEvent;
  readonly clientId: string;
}

/**
 * The protocol's storage in plain memory: for tests and the MSW mock. Transactions and reads take turns (one
 * at a time, in arrival order), so a transaction's awaited steps never interleave with another's. Every
 * mutation records how to undo itself, so a transaction that throws leaves the store as it found it.
 * serverSeqs are dense: a rolled-back allocation is handed out again.
 */
export function createMemoryStorage(options: MemoryStorageOptions = {}): MemoryStorage {
  const clientEvents = new Map<string, StoredClientEvent>();
  const streams = new Map<string, WireClientEvent[]>();
  // Index i holds serverSeq i + 1: sequence numbers are dense because rolled-back appends are undone.
  const serverEvents: WireServerEvent[] = [];
  const clientStreams = new Map<string, Set<string>>();
  const counters: Record<CounterName, number> = { duplicatesAnswered: 0 };
  const streamOwners = new Map<string, string>();
  const clientOwners = new Map<string, string>();
  // The feed: every event in the order it was written (transactions take turns, so that is commit order).
  const feedLog: MemoryFeedItem[] = [];
  const feedPositions = new Map<string, number[]>();
  const devices = new Map<string, { name: string; updatedAt: number }>();
  const outbox = createMemoryOutbox(options.clock ?? systemClock);
  let closed = false;
  let undoLog: Array<() => void> | null = null;
  // The highest serverSeq the open transaction took; its events must use exactly those.
  let allocatedUpTo = 0;

  function record(undo: () => void): void {
    undoLog?.push(undo);
  }

  const claim = (owners: Map<string, string>, key: string, owner: string, what: string): void => {
    const current = owners.get(key);
    if (current === owner) return;
    if (current !== undefined)
      throw new StorageConflictError('owner', `${what} ${key} belongs to another user`);
    owners.set(key, owner);
    record(() => owners.delete(key));
  };

  function appendToFeed(item: MemoryFeedItem): void {
    feedLog.push(item);
    const positions = feedPositions.get(item.event.streamId) ?? [];
    positions.push(feedLog.length);
    feedPositions.set(item.event.streamId, positions);
    record(() => {
      feedLog.pop();
      positions.pop();
      if (positions.length === 0) feedPositions.delete(item.event.streamId);
    });
  }

  function appendClientEvent(event: WireClientEvent, clientId: string): void {
    if (clientEvents.has(event.eventId)) {
      throw new StorageConflictError('eventId', `Event ${event.eventId} is already stored`);
    }
    const stream = streams.get(event.streamId) ?? [];
    if (event.version !== stream.length + 1) {
      // Only version n + 1 may follow n: anything else is a taken or a skipped position.
      throw new StorageConflictError(
        'streamVersion',
        `${event.streamId} is at version ${stream.length}; cannot store version ${event.version}`,
      );
    }
    const stored = deepFreeze(structuredClone(event));
    clientEvents.set(event.eventId, { event: stored, clientId });
    if (stream.length === 0) streams.set(event.streamId, stream);
    stream.push(stored);
    record(() => {
      stream.pop();
      if (stream.length === 0) streams.delete(event.streamId);
      clientEvents.delete(event.eventId);
    });
    if (!restoring) appendToFeed({ kind: 'client', event: stored, clientId });
  }

  function appendServerEvent(event: WireServerEvent): void {
    if (event.serverSeq !== serverEvents.length + 1) {
      throw new Error(
        `serverSeq ${event.serverSeq} was not allocated in order: next is ${serverEvents.length + 1}`,
      );
    }
    const stored = deepFreeze(structuredClone(event));
    serverEvents.push(stored);
    record(() => serverEvents.pop());
    if (!restoring) appendToFeed({ kind: 'server', event: stored });
  }

  function linkClientToStream(clientId: string, streamId: string): void {
    const owned = clientStreams.get(clientId) ?? new Set<string>();
    if (owned.has(streamId)) return;
    owned.add(streamId);
    clientStreams.set(clientId, owned);
    record(() => {
      owned.delete(streamId);
      if (owned.size === 0) clientStreams.delete(clientId);
    });
  }

  function increment(counter: CounterName, by: number): void {
    counters[counter] += by;
    record(() => {
      counters[counter] -= by;
    });
  }

  const reader: ServerStorageReader = {
    batchContext: (request) => readBatchContext(reader, request),
    async clientEvents(eventIds) {
      const found = new Map<string, WireClientEvent>();
      for (const eventId of eventIds) {
        const stored = clientEvents.get(eventId);
        if (stored) found.set(eventId, stored.event);
      }
      return found;
    },
    async streams(streamIds) {
      return new Map(
        streamIds.map((streamId) => [
          streamId,
          { events: [...(streams.get(streamId) ?? [])], owner: streamOwners.get(streamId) },
        ]),
      );
    },
    clientOwner: async (clientId) => clientOwners.get(clientId),
    async pull({ clientId, since, limit, owner }) {
      const pushed = clientStreams.get(clientId);
      // One writer at a time: serverSeq order is commit order. A commit cursor is another server's; reading
      // from the start again is safe, because clients apply server events idempotently by eventId.
      const afterSeq = since.kind === 'seq' ? since.serverSeq : 0;
      const found: WireServerEvent[] = [];
      let hasMore = false;
      if (pushed && limit > 0) {
        for (let index = Math.max(0, afterSeq); index < serverEvents.length; index += 1) {
          const event = serverEvents[index];
          const visible = owner === undefined || streamOwners.get(event?.streamId ?? '') === owner;
          if (event && pushed.has(event.streamId) && visible) {
            if (found.length === limit) {
              hasMore = true;
              break;
            }
            found.push(event);
          }
        }
      }
      const last = found.at(-1);
      return { events: found, cursor: last ? { kind: 'seq', serverSeq: last.serverSeq } : since, hasMore };
    },
    async stats(): Promise<ServerStats> {
      const serverEventsByType: Record<string, number> = {};
      for (const event of serverEvents)
        serverEventsByType[event.type] = (serverEventsByType[event.type] ?? 0) + 1;
      return {
        eventsStored: clientEvents.size,
        streams: streams.size,
        serverEvents: serverEvents.length,
        serverEventsByType,
        duplicatesAnswered: counters.duplicatesAnswered,
      };
    },
  };

  const tx: ServerStorageTx = {
    ...reader,
    async allocateServerSeqs(count) {
      const first = Math.max(allocatedUpTo, serverEvents.length) + 1;
      allocatedUpTo = first + count - 1;
      return Array.from({ length: count }, (_, index) => first + index);
    },
    async write(changes) {
      if (!undoLog) throw new Error('Storage writes happen only inside transaction()');
      if (changes.claims) {
        const { owner } = changes.claims;
        if (changes.claims.client) claim(clientOwners, changes.clientId, owner, 'Client');
        for (const streamId of changes.claims.streams) claim(streamOwners, streamId, owner, 'Stream');
      }
      for (const event of changes.clientEvents ?? []) appendClientEvent(event, changes.clientId);
      for (const event of changes.serverEvents ?? []) appendServerEvent(event);
      for (const streamId of changes.linkedStreams ?? []) linkClientToStream(changes.clientId, streamId);
      if (changes.duplicatesAnswered) increment('duplicatesAnswered', changes.duplicatesAnswered);
      // The server outbox: one row per stored event, undone with the transaction.
      record(outbox.append(outboxRowsOf(changes)));
    },
  };

  function snapshot(): MemorySnapshot {
    const clientEventRows = [...clientEvents.values()].map(({ event, clientId }) => ({ clientId, event }));
    const links = [...clientStreams].flatMap(([clientId, owned]) =>
      [...owned].map((streamId) => ({ clientId, streamId })),
    );
    return structuredClone({
      format: 1 as const,
      clientEvents: clientEventRows,
      serverEvents,
      clientStreams: links,
      counters: { ...counters },
      streamOwners: [...streamOwners].map(([streamId, owner]) => ({ streamId, owner })),
      clientOwners: [...clientOwners].map(([clientId, owner]) => ({ clientId, owner })),
      feed: feedLog.map((item) => item.event.eventId),
      devices: [...devices].map(([clientId, device]) => ({ clientId, ...device })),
    });
  }

  function assertOpen(): void {
    if (closed) throw new StorageClosedError();
  }

  // While a snapshot loads, events go to the feed in the snapshot's own feed order, afterwards.
  let restoring = false;
  if (options.initial !== undefined) {
    const initial = v.parse(MemorySnapshotSchema, options.initial);
    restoring = true;
    // Insertion order of a snapshot's client events is storage order, so versions arrive ascending.
    for (const { event, clientId } of initial.clientEvents) appendClientEvent(event, clientId);
    for (const [index, event] of initial.serverEvents.entries()) {
      if (event.serverSeq !== index + 1)
        throw new Error('Snapshot server events must have serverSeq 1, 2, 3, …');
      appendServerEvent(event);
    }
    for (const { clientId, streamId } of initial.clientStreams) linkClientToStream(clientId, streamId);
    counters.duplicatesAnswered = initial.counters.duplicatesAnswered;
    for (const { streamId, owner } of initial.streamOwners) claim(streamOwners, streamId, owner, 'Stream');
    for (const { clientId, owner } of initial.clientOwners) claim(clientOwners, clientId, owner, 'Client');
    for (const { clientId, name, updatedAt } of initial.devices) devices.set(clientId, { name, updatedAt });
    restoring = false;
    const byId = new Map<string, MemoryFeedItem>();
    for (const { event, clientId } of clientEvents.values()) {
      byId.set(event.eventId, { kind: 'client', event, clientId });
    }
    for (const event of serverEvents) byId.set(event.eventId, { kind: 'server', event });
    for (const eventId of initial.feed ?? []) {
      const item = byId.get(eventId);
      if (item) appendToFeed(item);
      byId.delete(eventId);
    }
    for (const item of byId.values()) appendToFeed(item);
  }

  const inTurn = takingTurns();
  const feed = createMemoryFeed(
    {
      log: feedLog,
      positions: feedPositions,
      streamOwners,
      clientOwners,
      clientStreams,
      devices,
    },
    inTurn,
    () => assertOpen(),
  );

  return {
    transaction<T>(work: (tx: ServerStorageTx) => Promise<T>): Promise<T> {
      return inTurn(async () => {
        assertOpen();
        const log: Array<() => void> = [];
        undoLog = log;
        allocatedUpTo = 0;
        let result: T;
        try {
          result = await work(tx);
        } catch (error) {
          for (let index = log.length - 1; index >= 0; index -= 1) log[index]?.();
          throw error;
        } finally {
          undoLog = null;
        }
        // Outside the try: the work has committed, so a failing observer must neither undo it nor make the
        // caller believe it failed (a client told its push failed would push it again).
        if (log.length > 0) {
          try {
            options.onCommit?.(snapshot());
          } catch (error) {
            options.onCommitError?.(error);
          }
        }
        return result;
      });
    },
    read<T>(work: (reader: ServerStorageReader) => Promise<T>): Promise<T> {
      return inTurn(async () => {
        assertOpen();
        return work(reader);
      });
    },
    async check() {
      assertOpen();
    },
    async close() {
      closed = true;
    },
    snapshot,
    feed,
    outbox: outbox.relayStore,
  };
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
