import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import { SCHEMA_VERSION } from '../../../src/app/schema-version';
import type { OrderEvent } from '../../../src/orders/domain/events';
import { foldOrder } from '../../../src/orders/domain/order';
import { streamIdOf } from '../../../src/orders/stream-ids';
import type { CommandOutcome } from '../../../src/outbox/device/commands/command-pipeline';
import type { CommandError } from '../../../src/outbox/device/commands/errors';
import { EventBus } from '../../../src/outbox/device/event-bus';
import {
  type DeliveryState,
  deliveryStateOf,
  type OutboxEntry,
  outboxEntriesView,
} from '../../../src/outbox/device/read-models/outbox-view';
import {
  createSyncEngine,
  type SyncEngine,
  type SyncEngineDeps,
} from '../../../src/outbox/device/sync/engine';
import { syncStorage } from '../../../src/outbox/device/sync/sync-storage';
import { ManualClock, uuidv7Generator } from '../../../src/outbox/ids';
import { createFaultControl, type FaultSettings, seededRandom } from '../../../src/outbox/mock/faults';
import { createMockBackend, type MockBackend } from '../../../src/outbox/mock/mock-backend';
import type { OutpostDb } from '../../../src/outbox/page/database';
import { createPageCommandPipeline } from '../../../src/outbox/page/page-commands';
import type { Result } from '../../../src/outbox/result';
import { START_CURSOR } from '../../../src/outbox/server/pull-cursor';
import type { ServerStorage } from '../../../src/outbox/server/storage';
import type { OutboxDatabase } from '../../../src/outbox/storage/outbox-database';
import { openPlainDatabase } from '../../../src/outbox/storage/plain-database';
import type { OutboxRow } from '../../../src/outbox/storage/rows';
import { serverStreamTypes } from '../../../src/server-plugins';
import { openTestDb } from '../../support/app-db';

// The sync tests replay every random choice from a seed with the same generator the mock backend uses.
export { seededRandom };

export const BASE_URL = 'http://outpost.test/api/sync';

/**
 * `OUTPOST_SYNC_DB=plain` runs every engine of these tests on the service worker's plain IndexedDB
 * implementation instead of Dexie (commands, reads and live queries stay on Dexie, as in the app).
 */
const enginesOnPlainIdb = process.env.OUTPOST_SYNC_DB === 'plain';

let dbCounter = 0;

export interface ClientSide {
  readonly db: OutpostDb;
  readonly clock: ManualClock;
  readonly ids: () => string;
  readonly clientId: string;
  readonly bus: EventBus;
  /** Runs a command and returns the handler's answer, for tests that expect a refusal. */
  execute(command: Record<string, unknown>): Promise<Result<CommandOutcome, CommandError>>;
  /** Runs a command and fails the test if it is refused. */
  run(command: Record<string, unknown>): Promise<CommandOutcome>;
  engine(overrides?: Partial<SyncEngineDeps>): SyncEngine;
  /** The stored outbox rows (pending or dead; delivered rows are deleted), in position order. */
  outbox(): Promise<OutboxRow[]>;
  /** The rows as every view shows them: in flight derived from the lease records. */
  entries(): Promise<OutboxEntry[]>;
  /**
   * Every client event's delivery state in position order (optionally of one order): its entry's state, or
   * `delivered` when its row is gone. What the person sees on the order's timeline.
   */
  deliveries(orderId?: string): Promise<DeliveryState[]>;
  /** A draft order with one line per sku; returns its orderId. */
  draftOrder(skus?: readonly string[], customerName?: string): Promise<string>;
  close(): Promise<void>;
}

export function createClientSide(options: { clock: ManualClock; seed?: number }): ClientSide {
  const { clock } = options;
  const random = seededRandom(options.seed ?? 1);
  const ids = uuidv7Generator(clock, (bytes) => {
    for (let i = 0; i < bytes.length; i += 1) bytes[i] = Math.floor(random() * 256);
    return bytes;
  });
  dbCounter += 1;
  const db = openTestDb({ name: `sync-test-${dbCounter}-${ids()}` });
  let engineDb: OutboxDatabase = db;
  // The page's Dexie creates the database; the worker's implementation only ever opens it.
  const created = enginesOnPlainIdb ? db.open() : null;
  if (enginesOnPlainIdb)
    engineDb = openPlainDatabase({
      name: db.name,
      schemaVersion: SCHEMA_VERSION,
      streamTypes: db.streamTypes,
    });
  const clientId = ids();
  const bus = new EventBus();
  const handler = createPageCommandPipeline({ db, clock, ids, clientId, bus });
  const side: ClientSide = {
    db,
    clock,
    ids,
    clientId,
    bus,
    execute: (command) => handler.execute({ command }),
    async run(command) {
      const result = await handler.execute({ command });
      if (!result.ok) throw new Error(`Command refused: ${result.error.code} ${result.error.message}`);
      return result.value;
    },
    engine(overrides = {}) {
      const engine = createSyncEngine({
        storage: syncStorage(engineDb),
        streamTypes: db.streamTypes,
        transport: (...args) => fetch(...args),
        clock,
        ids,
        clientId,
        baseUrl: BASE_URL,
        bus,
        random: () => 0.5,
        ...overrides,
      });
      if (!created) return engine;
      // Each call waits for Dexie to have created the database; concurrent flushes still join one run.
      const opened = () => created.then(() => undefined);
      let flushing: ReturnType<SyncEngine['flush']> | null = null;
      return {
        flush(options) {
          flushing ??= opened()
            .then(() => engine.flush(options))
            .finally(() => {
              flushing = null;
            });
          return flushing;
        },
        pull: () => opened().then(() => engine.pull()),
        resumeAfterSignIn: (token) => opened().then(() => engine.resumeAfterSignIn(token)),
      };
    },
    outbox: () => db.outbox.orderBy('position').toArray(),
    async entries() {
      return outboxEntriesView(await db.outbox.orderBy('position').toArray(), await db.leases.toArray());
    },
    async deliveries(orderId) {
      const events = await (orderId === undefined
        ? db.events.orderBy('position').toArray()
        : db.events.where('streamId').equals(streamIdOf(orderId)).sortBy('position'));
      const byId = new Map((await side.entries()).map((entry) => [entry.eventId, entry] as const));
      const streams = new Map(
        (await db.streams.toArray()).map((stream) => [stream.streamId, stream] as const),
      );
      return events
        .filter((event) => event.kind === 'client')
        .map((event) =>
          deliveryStateOf(byId.get(event.eventId), {
            version: event.version,
            discardedFromVersion: streams.get(event.streamId)?.discardedFromVersion,
          }),
        );
    },
    async draftOrder(skus = ['SKU-1'], customerName = 'Ada Lovelace') {
      const orderId = ids();
      await side.run({ type: 'CreateOrder', orderId, customerName, currency: 'EUR' });
      for (const [index, sku] of skus.entries()) {
        await side.run({
          type: 'AddProduct',
          orderId,
          sku,
          name: `Product ${sku}`,
          quantity: 1 + index,
          unitPrice: 250,
        });
      }
      return orderId;
    },
    async close() {
      db.close();
      await db.delete();
    },
  };
  return side;
}

/** The order as the server's stored events make it: client events by version, then its decisions. */
export async function serverOrderState(storage: ServerStorage, clientId: string, orderId: string) {
  const streamId = streamIdOf(orderId);
  return storage.read(async (reader) => {
    const client = (await reader.streams([streamId])).get(streamId)?.events ?? [];
    const pulled = await reader.pull({ clientId, since: START_CURSOR, limit: 1_000_000 });
    const decisions = pulled.events.filter((event) => event.streamId === streamId);
    return foldOrder([...client, ...decisions] as unknown as OrderEvent[]);
  });
}

/** Asserts each stored stream holds versions 1..n exactly once, in order. */
export async function expectServerStream(
  storage: ServerStorage,
  orderId: string,
  eventIds: readonly string[],
) {
  const stored = await storage.read(
    async (reader) => (await reader.streams([streamIdOf(orderId)])).get(streamIdOf(orderId))?.events ?? [],
  );
  expect(stored.map((event) => event.eventId)).toEqual(eventIds);
  expect(stored.map((event) => event.version)).toEqual(eventIds.map((_, index) => index + 1));
}

/** Every push the client made and what it got back, to check the lane rule over a whole run. */
export interface PushLogEntry {
  readonly events: readonly { eventId: string; streamId: string; version: number }[];
  readonly results: readonly { eventId: string; status: string }[] | null;
}

/** Wraps a transport to log pushes and their parsed answers (null when the answer was not a valid 200). */
export function loggingTransport(inner: typeof fetch, log: PushLogEntry[]): typeof fetch {
  return async (input, init) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    if (!url.endsWith('/push') || typeof init?.body !== 'string') return inner(input, init);
    const body = JSON.parse(init.body) as { events: PushLogEntry['events'] };
    const entry: { events: PushLogEntry['events']; results: PushLogEntry['results'] } = {
      events: body.events.map(({ eventId, streamId, version }) => ({ eventId, streamId, version })),
      results: null,
    };
    log.push(entry);
    const response = await inner(input, init);
    try {
      const parsed = (await response.clone().json()) as { results?: PushLogEntry['results'] };
      entry.results = Array.isArray(parsed.results) ? parsed.results : null;
    } catch {
      entry.results = null;
    }
    return response;
  };
}

/**
 * The lane rule, checked over a log: version v of a stream is only ever sent after v-1 was answered
 * accepted or duplicate (earlier, or earlier in the same request). Returns the breaches.
 */
export function laneBreaches(log: readonly PushLogEntry[]): string[] {
  const delivered = new Map<string, number>();
  const breaches: string[] = [];
  const markDelivered = (streamId: string, version: number) => {
    if ((delivered.get(streamId) ?? 0) < version) delivered.set(streamId, version);
  };
  for (const [index, entry] of log.entries()) {
    const sentInRequest = new Map<string, number>();
    for (const event of entry.events) {
      const before = Math.max(delivered.get(event.streamId) ?? 0, sentInRequest.get(event.streamId) ?? 0);
      if (event.version > 1 && before < event.version - 1) {
        breaches.push(
          `request ${index}: ${event.streamId} v${event.version} sent before v${event.version - 1} was delivered`,
        );
      }
      sentInRequest.set(event.streamId, event.version);
    }
    for (const [position, result] of (entry.results ?? []).entries()) {
      const event = entry.events[position];
      if (event && (result.status === 'accepted' || result.status === 'duplicate')) {
        markDelivered(event.streamId, event.version);
      }
    }
  }
  return breaches;
}

/** The mock backend (real protocol server logic behind a fault control) at BASE_URL, for msw/node. */
export function createTestBackend(options: {
  clock: ManualClock;
  ids: () => string;
  token?: string;
  faults?: Partial<FaultSettings>;
  seed?: number;
}): MockBackend {
  return createMockBackend({
    streamTypes: serverStreamTypes,
    clock: options.clock,
    ids: options.ids,
    baseUrl: BASE_URL,
    token: options.token ?? null,
    faults: createFaultControl(options.faults ?? {}, seededRandom(options.seed ?? 0x5eed)),
  });
}

export interface SyncTestSetup {
  readonly clock: ManualClock;
  readonly client: ClientSide;
  readonly backend: MockBackend;
}

export interface SyncTestServer {
  readonly server: ReturnType<typeof setupServer>;
  /** A fresh clock, a client on it and the mock backend serving it; the client is closed after the test. */
  setup(options?: {
    seed?: number;
    faults?: Partial<FaultSettings>;
    token?: string;
    backendSeed?: number;
  }): SyncTestSetup;
  /** Another device on the same clock and server, closed after the test like the first. */
  addClient(options: { clock: ManualClock; seed: number }): ClientSide;
}

/**
 * The msw server every sync test file runs against, with its lifecycle: unhandled requests fail the test,
 * handlers added by a test are dropped after it, and every client database is closed and deleted.
 * Call once at the top of a test file; `seed` is the file's default client seed.
 */
export function setupSyncTestServer({ seed: defaultSeed }: { seed: number }): SyncTestServer {
  const server = setupServer();
  beforeAll(() => server.listen({ onUnhandledRequest: 'error' }));
  afterEach(() => server.resetHandlers());
  afterAll(() => server.close());

  const clients: ClientSide[] = [];
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.close()));
  });

  const addClient = (options: { clock: ManualClock; seed: number }): ClientSide => {
    const client = createClientSide(options);
    clients.push(client);
    return client;
  };

  return {
    server,
    addClient,
    setup({ seed = defaultSeed, faults, token, backendSeed } = {}) {
      const clock = new ManualClock();
      const client = addClient({ clock, seed });
      const backend = createTestBackend({
        clock,
        ids: client.ids,
        ...(faults ? { faults } : {}),
        ...(token ? { token } : {}),
        ...(backendSeed !== undefined ? { seed: backendSeed } : {}),
      });
      server.use(...backend.handlers);
      return { clock, client, backend };
    },
  };
}
