// Must stay the first import: msw touches localStorage while it loads (see the shim).
import './local-storage-shim';
import Dexie, { type EntityTable } from 'dexie';
import { getResponse } from 'msw';
import * as v from 'valibot';
import { createFaultControl, createMockHandlers, type FaultSettings } from '../../outbox/mock';
import {
  createMemoryStorage,
  createSyncHandler,
  type MemorySnapshot,
  MemorySnapshotSchema,
  type ServerStorage,
} from '../../outbox/server';
import type { DemoArrival, DemoServerState } from '../../outbox/worker';
import { serverStreamTypes } from '../../server-plugins';
import type { CreateWorkerBackend, WorkerBackend } from './backend';

/**
 * Demo mode: the protocol's mock server runs inside our own service worker (MSW's worker cannot share our
 * scope, and requests our worker makes never reach any fetch handler). Its state lives in its own IndexedDB
 * database, written after every commit and before the answer leaves, so a worker restart loses nothing the
 * client was told was stored.
 */

export const DEMO_SERVER_DB = 'outpost-demo-server';

interface DemoStateRow {
  readonly key: 'snapshot' | 'faults' | 'arrivals';
  readonly value: unknown;
}
type DemoDb = Dexie & { state: EntityTable<DemoStateRow, 'key'> };

const ArrivalsSchema = v.array(v.object({ eventId: v.string(), streamId: v.string(), version: v.number() }));
const PushBodySchema = v.object({ events: v.array(v.object({ eventId: v.string() })) });

function openDemoDb(): DemoDb {
  const db = new Dexie(DEMO_SERVER_DB) as DemoDb;
  db.version(1).stores({ state: '&key' });
  return db;
}

/**
 * Records every accepted append in arrival order. Appends of a transaction that throws are dropped with
 * it, so the log matches what the storage holds.
 */
function withArrivalLog(
  storage: ServerStorage,
  arrivals: DemoArrival[],
  afterCommit: () => void,
): ServerStorage {
  return {
    read: (work) => storage.read(work),
    check: () => storage.check(),
    close: () => storage.close(),
    transaction: async (work) => {
      const appended: DemoArrival[] = [];
      const result = await storage.transaction((tx) =>
        work({
          ...tx,
          write: async (changes) => {
            await tx.write(changes);
            for (const event of changes.clientEvents ?? []) {
              appended.push({ eventId: event.eventId, streamId: event.streamId, version: event.version });
            }
          },
        }),
      );
      arrivals.push(...appended);
      afterCommit();
      return result;
    },
  };
}

export const createWorkerBackend: CreateWorkerBackend = async ({ endpoint, clock, ids, isOnline }) => {
  const db = openDemoDb();
  const saved = new Map((await db.state.toArray()).map((row) => [row.key, row.value]));
  const initial = v.safeParse(MemorySnapshotSchema, saved.get('snapshot'));
  const savedArrivals = v.safeParse(ArrivalsSchema, saved.get('arrivals'));
  const arrivals: DemoArrival[] = savedArrivals.success ? [...savedArrivals.output] : [];

  // Each commit queues its snapshot write; answers wait for the queue so "stored" means on disk.
  let persisting: Promise<unknown> = Promise.resolve();
  const persist = (snapshot: MemorySnapshot) => {
    const copy = { snapshot, arrivals: [...arrivals] };
    persisting = persisting
      .catch(() => undefined)
      .then(() =>
        db.state.bulkPut([
          { key: 'snapshot', value: copy.snapshot },
          { key: 'arrivals', value: copy.arrivals },
        ]),
      );
  };

  const memory = createMemoryStorage(initial.success ? { initial: initial.output } : {});
  const storage = withArrivalLog(memory, arrivals, () => persist(memory.snapshot()));
  const faults = createFaultControl();
  const savedFaults = saved.get('faults');
  // Settings saved by an older build may no longer validate: set() then keeps the defaults.
  if (savedFaults && typeof savedFaults === 'object') faults.set(savedFaults as Partial<FaultSettings>);

  // The same handlers node tests and `npm run dev` use: the real protocol server behind the fault switches.
  const handle = createSyncHandler({
    streamTypes: serverStreamTypes,
    storage,
    clock,
    ids,
    basePath: new URL(endpoint).pathname,
  });
  const handlers = createMockHandlers({ handle, faults, baseUrl: endpoint });

  const inFlight = new Map<string, number>();
  const overlaps: string[] = [];
  let pushes = 0;

  const eventIdsOf = async (request: Request): Promise<readonly string[]> => {
    if (request.method !== 'POST' || !request.url.endsWith('/push')) return [];
    const body = v.safeParse(
      PushBodySchema,
      await request
        .clone()
        .json()
        .catch(() => null),
    );
    return body.success ? body.output.events.map((event) => event.eventId) : [];
  };

  const respond = async (request: Request): Promise<Response> => {
    // Playwright's offline switch and a real outage both cut the worker's network; the in-worker server
    // must be unreachable then too, or offline tests would pass against a server no device could reach.
    if (!isOnline()) throw new TypeError('Failed to fetch (demo server offline)');
    const eventIds = await eventIdsOf(request);
    if (eventIds.length > 0) pushes += 1;
    for (const eventId of eventIds) {
      const count = inFlight.get(eventId) ?? 0;
      if (count > 0) overlaps.push(eventId);
      inFlight.set(eventId, count + 1);
    }
    try {
      const response = await getResponse(handlers, request);
      await persisting;
      return (
        response ?? Response.json({ error: { code: 'not_found', message: 'No demo route' } }, { status: 404 })
      );
    } finally {
      for (const eventId of eventIds) {
        const count = (inFlight.get(eventId) ?? 1) - 1;
        if (count <= 0) inFlight.delete(eventId);
        else inFlight.set(eventId, count);
      }
    }
  };

  const backend: WorkerBackend = {
    transport: async (input, init) => {
      const response = await respond(new Request(input, init));
      // What fetch does with a network-error response: reject.
      if (response.type === 'error') throw new TypeError('Failed to fetch (demo server)');
      return response;
    },
    respond: async (request) => {
      try {
        return await respond(request);
      } catch {
        return Response.error();
      }
    },
    handleMessage: (message) => {
      if (message.type === 'demo:faults') {
        return (async () => {
          if (message.settings) {
            const changed = faults.set(message.settings as Partial<FaultSettings>);
            if (!changed.ok) throw changed.error;
            await db.state.put({ key: 'faults', value: { ...faults.settings } });
          }
          return { ...faults.settings };
        })();
      }
      if (message.type === 'demo:server-state') {
        return (async (): Promise<DemoServerState> => {
          await persisting;
          const stats = await storage.read((reader) => reader.stats());
          return { arrivals: [...arrivals], overlaps: [...overlaps], pushes, stats };
        })();
      }
      return null;
    },
  };
  return backend;
};
