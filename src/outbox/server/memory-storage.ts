import * as v from 'valibot';
import { UuidSchema } from '../fields';
import {
  StreamIdSchema,
  type WireClientEvent,
  WireClientEventSchema,
  type WireServerEvent,
  WireServerEventSchema,
} from '../protocol/messages';
import {
  type CounterName,
  type ServerStats,
  type ServerStorage,
  type ServerStorageTx,
  StorageConflictError,
} from './storage';

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
});
export type MemorySnapshot = v.InferOutput<typeof MemorySnapshotSchema>;

export class StorageClosedError extends Error {
  readonly code = 'storage_closed' as const;
  constructor() {
    super('The storage is closed');
    this.name = 'StorageClosedError';
  }
}

export interface MemoryStorageOptions {
  /** State to start from; checked against `MemorySnapshotSchema` (it may come from an old IndexedDB). */
  readonly initial?: MemorySnapshot;
  /** Called after every transaction that changed something, with the state as it now stands. */
  readonly onCommit?: (snapshot: MemorySnapshot) => void;
}

export type MemoryStorage = ServerStorage & { snapshot(): MemorySnapshot };

interface StoredClientEvent {
  readonly event: WireClientEvent;
  readonly clientId: string;
}

/**
 * The protocol's storage in plain memory: for tests and the MSW mock. Every mutation inside a transaction
 * records how to undo itself, so a transaction that throws leaves the store exactly as it found it.
 * Callbacks are synchronous (the `ServerStorage` contract), so transactions never interleave.
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
  let closed = false;

  const claim = (owners: Map<string, string>, key: string, owner: string, what: string): void => {
    guardWrite();
    const current = owners.get(key);
    if (current === owner) return;
    if (current !== undefined)
      throw new StorageConflictError('owner', `${what} ${key} belongs to another user`);
    owners.set(key, owner);
    record(() => owners.delete(key));
  };

  const tx: ServerStorageTx = {
    findClientEvent: (eventId) => clientEvents.get(eventId)?.event,
    streamEvents: (streamId) => streams.get(streamId) ?? [],
    streamVersion: (streamId) => streams.get(streamId)?.length ?? 0,
    lastServerSeq: () => serverEvents.length,
    serverEventsForClient(clientId, afterSeq, limit, owner) {
      const pushed = clientStreams.get(clientId);
      const found: WireServerEvent[] = [];
      if (!pushed || limit <= 0) return found;
      for (let index = Math.max(0, Math.floor(afterSeq)); index < serverEvents.length; index += 1) {
        const event = serverEvents[index];
        const visible = owner === undefined || streamOwners.get(event?.streamId ?? '') === owner;
        if (event && pushed.has(event.streamId) && visible) {
          found.push(event);
          if (found.length >= limit) break;
        }
      }
      return found;
    },
    streamOwner: (streamId) => streamOwners.get(streamId),
    clientOwner: (clientId) => clientOwners.get(clientId),
    stats(): ServerStats {
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
    appendClientEvent(event, clientId) {
      guardWrite();
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
    },
    appendServerEvent(event) {
      guardWrite();
      // `Omit` over the union loses the type/data pairing; the caller built a valid pair.
      const withSeq = { ...structuredClone(event), serverSeq: serverEvents.length + 1 } as WireServerEvent;
      const stored = deepFreeze(withSeq);
      serverEvents.push(stored);
      record(() => serverEvents.pop());
      return stored;
    },
    linkClientToStream(clientId, streamId) {
      guardWrite();
      const owned = clientStreams.get(clientId) ?? new Set<string>();
      if (owned.has(streamId)) return;
      owned.add(streamId);
      clientStreams.set(clientId, owned);
      record(() => {
        owned.delete(streamId);
        if (owned.size === 0) clientStreams.delete(clientId);
      });
    },
    increment(counter, by = 1) {
      guardWrite();
      counters[counter] += by;
      record(() => {
        counters[counter] -= by;
      });
    },
    claimStream: (streamId, owner) => claim(streamOwners, streamId, owner, 'Stream'),
    claimClient: (clientId, owner) => claim(clientOwners, clientId, owner, 'Client'),
  };

  let undoLog: Array<() => void> | null = null;
  let loading = false;
  function guardWrite(): void {
    if (!undoLog && !loading) throw new Error('Storage writes happen only inside transaction()');
  }
  function record(undo: () => void): void {
    undoLog?.push(undo);
  }

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
    });
  }

  function assertOpen(): void {
    if (closed) throw new StorageClosedError();
  }

  if (options.initial !== undefined) {
    const initial = v.parse(MemorySnapshotSchema, options.initial);
    loading = true;
    // Insertion order of a snapshot's client events is storage order, so versions arrive ascending.
    for (const { event, clientId } of initial.clientEvents) tx.appendClientEvent(event, clientId);
    for (const [index, event] of initial.serverEvents.entries()) {
      if (event.serverSeq !== index + 1)
        throw new Error('Snapshot server events must have serverSeq 1, 2, 3, …');
      tx.appendServerEvent(event);
    }
    for (const { clientId, streamId } of initial.clientStreams) tx.linkClientToStream(clientId, streamId);
    counters.duplicatesAnswered = initial.counters.duplicatesAnswered;
    for (const { streamId, owner } of initial.streamOwners) tx.claimStream(streamId, owner);
    for (const { clientId, owner } of initial.clientOwners) tx.claimClient(clientId, owner);
    loading = false;
  }

  return {
    async transaction<T>(work: (tx: ServerStorageTx) => T): Promise<T> {
      assertOpen();
      const log: Array<() => void> = [];
      undoLog = log;
      let result: T;
      try {
        result = work(tx);
      } catch (error) {
        for (let index = log.length - 1; index >= 0; index -= 1) log[index]?.();
        throw error;
      } finally {
        undoLog = null;
      }
      // Outside the try: the work has committed, so a failing observer must not undo it.
      if (log.length > 0) options.onCommit?.(snapshot());
      return result;
    },
    async read(work) {
      assertOpen();
      return work(tx);
    },
    async close() {
      closed = true;
    },
    snapshot,
  };
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
