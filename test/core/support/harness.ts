import { EventBus } from '../../../src/outbox/device/event-bus';
import { createSyncEngine, type SyncEngineDeps } from '../../../src/outbox/device/sync/engine';
import { syncStorage } from '../../../src/outbox/device/sync/sync-storage';
import { ManualClock, uuidv7Generator } from '../../../src/outbox/ids';
import { type OutpostDb, openOutboxDb } from '../../../src/outbox/page/database';
import { createPageCommandPipeline } from '../../../src/outbox/page/page-commands';
import { createSyncHandler } from '../../../src/outbox/server/http';
import { createMemoryStorage, type MemoryStorage } from '../../../src/outbox/server/memory-storage';
import type { AnyServerStreamType } from '../../../src/outbox/stream-type';
import type { StreamTypes } from '../../../src/outbox/stream-types';
import { tallyServerTypes, tallyTypes } from './tally';

/**
 * The core composed the way an app composes it, from nothing but the core and a stream type list: a
 * database, the command pipeline, a sync engine, and the core's protocol server on memory storage behind
 * a transport with seeded faults. No plug-in of the app and no mock of the app is involved.
 */

export const BASE_URL = 'http://core.test/api/sync';

/** A deterministic random source, so a failing run replays exactly (mulberry32). */
export function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface ServerFaults {
  /** Share of requests answered 503 before the server sees them. */
  refuse: number;
  /** Share of requests the server handles and stores, whose answer is then lost (a dropped socket). */
  loseAnswer: number;
  /** While true no request connects. */
  unreachable: boolean;
}

export interface CoreServer {
  readonly storage: MemoryStorage;
  readonly faults: ServerFaults;
  /** `fetch` for the engine: the protocol server behind the faults. */
  readonly transport: typeof fetch;
  /** Push requests that reached the server, in order. */
  readonly pushes: number;
}

export function createCoreServer(options: {
  readonly clock: ManualClock;
  readonly streamTypes?: StreamTypes<AnyServerStreamType>;
  readonly seed?: number;
  /** Serve the feed extension (on by default); false makes a protocol v1 server. */
  readonly feed?: boolean;
}): CoreServer {
  const storage = createMemoryStorage();
  const ids = uuidv7Generator(options.clock);
  const handle = createSyncHandler({
    streamTypes: options.streamTypes ?? tallyServerTypes,
    storage,
    clock: options.clock,
    ids,
    feed: options.feed === false ? null : storage.feed,
  });
  const random = seeded(options.seed ?? 7);
  const faults: ServerFaults = { refuse: 0, loseAnswer: 0, unreachable: false };
  let pushes = 0;
  const transport: typeof fetch = async (input, init) => {
    if (faults.unreachable) throw new TypeError('Failed to fetch (unreachable)');
    const request = new Request(input, init);
    if (random() < faults.refuse) {
      return new Response(JSON.stringify({ error: 'unavailable', message: 'try later' }), {
        status: 503,
        headers: { 'content-type': 'application/json', 'retry-after': '1' },
      });
    }
    if (request.url.endsWith('/push')) pushes += 1;
    const response = await handle(request);
    if (random() < faults.loseAnswer) throw new TypeError('Failed to fetch (answer lost)');
    return response;
  };
  return {
    storage,
    faults,
    transport,
    get pushes() {
      return pushes;
    },
  };
}

let databases = 0;

export interface CoreClient {
  readonly db: OutpostDb;
  readonly clock: ManualClock;
  readonly ids: () => string;
  readonly clientId: string;
  readonly bus: EventBus;
  readonly pipeline: ReturnType<typeof createPageCommandPipeline>;
  engine(server: CoreServer, overrides?: Partial<SyncEngineDeps>): ReturnType<typeof createSyncEngine>;
  close(): Promise<void>;
}

export function createCoreClient(options: {
  readonly clock: ManualClock;
  readonly streamTypes?: StreamTypes;
  /** Open this device's database by name (the same device, started again after a crash). */
  readonly name?: string;
}): CoreClient {
  const streamTypes = options.streamTypes ?? tallyTypes;
  databases += 1;
  const db = openOutboxDb({
    name: options.name ?? `core-${databases}-${crypto.randomUUID()}`,
    streamTypes,
    version: 1,
  });
  const ids = uuidv7Generator(options.clock);
  const clientId = ids();
  const bus = new EventBus();
  const pipeline = createPageCommandPipeline({ db, clock: options.clock, ids, clientId, bus });
  return {
    db,
    clock: options.clock,
    ids,
    clientId,
    bus,
    pipeline,
    engine: (server, overrides = {}) =>
      createSyncEngine({
        storage: syncStorage(db),
        streamTypes,
        transport: server.transport,
        clock: options.clock,
        ids,
        clientId,
        baseUrl: BASE_URL,
        bus,
        random: () => 0.5,
        ...overrides,
      }),
    async close() {
      db.close();
      await db.delete();
    },
  };
}

/** Runs a command and fails the test if it is refused. */
export async function run(client: CoreClient, command: unknown): Promise<void> {
  const result = await client.pipeline.execute({ command });
  if (!result.ok) throw new Error(`refused: ${result.error.code} ${result.error.message}`);
}

export { ManualClock };
