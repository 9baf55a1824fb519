import { BehaviorSubject, filter, firstValueFrom, skip } from 'rxjs';
import { vi } from 'vitest';
import { createOutpost, type Outpost } from '../../../src/app/outpost';
import { openAppDb } from '../../../src/app/schema';
import { streamIdOf } from '../../../src/orders/stream-ids';
import { refreshDelivery } from '../../../src/outbox/device/read-models/projections';
import { FLUSH_LOCK_NAME } from '../../../src/outbox/device/sync/flush-lock';
import { applyAnswer, claimBatch } from '../../../src/outbox/device/sync/outbox-store';
import { defaultRetryPolicy } from '../../../src/outbox/device/sync/retry-policy';
import { ManualClock, uuidv7Generator } from '../../../src/outbox/ids';
import { createMockBackend, type MockBackend } from '../../../src/outbox/mock/mock-backend';
import type { OutpostDb } from '../../../src/outbox/page/database';
import type { NetworkPort } from '../../../src/outbox/page/outbox';
import type { PageSyncPorts } from '../../../src/outbox/page/page-sync';
import { type WorkerHandle, WorkerRequestError } from '../../../src/outbox/page/register-worker';
import type { PersistencePort } from '../../../src/outbox/page/storage-persistence';
import { serverStreamTypes } from '../../../src/server-plugins';
import { fakePersistence } from '../../support/fake-persistence';
import { orderSummaries } from '../../support/order-rows';
import { createFakeLocks } from '../../unit/pwa/fake-locks';

/**
 * The app's own composition root (`createOutpost`, as main.tsx builds it) over a fresh fake-indexeddb
 * database, with the browser's ports replaced: the protocol's in-process mock server behind the transport,
 * a network switch, Web Locks for Node, a storage estimate, and no service worker (fallback sync).
 *
 * The device starts offline: what the real root would send by itself stays in the outbox, so tests that play
 * the sync engine's part by hand (`killEntry`, `sendEverything`) are the only ones moving entries. A test
 * that wants the app to deliver on its own passes `online: true` or flips `network`.
 */
export interface TestOutpost extends Outpost {
  readonly clock: ManualClock;
  /** The real "Sync now", watched: tests may count the calls. */
  readonly syncNow: ReturnType<typeof vi.fn<() => Promise<void>>>;
  readonly ids: () => string;
  /** The device's network: `next(true)` is the network coming back (the page hears `online`). */
  readonly network: BehaviorSubject<boolean>;
  /** The sync server the transport reaches, in this process. */
  readonly server: MockBackend;
  /** Resolves once no flush of the page runs: call before closing the database. */
  settle(): Promise<void>;
}

const TEST_ORIGIN = 'http://127.0.0.1:4173';

/** What the status bar shows of the storage estimate in every DOM test. */
const TEST_STORAGE = { usage: 2_500_000, quota: 1_000_000_000 } as const;

export interface TestOutpostOptions {
  readonly online?: boolean;
  /**
   * Answers the app's requests instead of the mock sync server (which then stays unreached): a server with
   * sign-in, say. Given the request as the page's `fetch` would send it.
   */
  readonly backend?: (request: Request) => Promise<Response>;
  /** What the browser says about keeping the data; by default it already keeps it. */
  readonly persistence?: PersistencePort;
}

export async function createTestOutpost({
  online = false,
  backend,
  persistence = fakePersistence({ persisted: true }),
}: TestOutpostOptions = {}): Promise<TestOutpost> {
  const db = openAppDb({ name: `dom-${crypto.randomUUID()}` });
  const clock = new ManualClock();
  const ids = uuidv7Generator(clock);
  const server = createMockBackend({ streamTypes: serverStreamTypes, clock, ids });
  const network = new BehaviorSubject(online);
  const flushes = watchedFlushLocks();
  const networkPort: NetworkPort = { isOnline: () => network.value, online$: network.asObservable() };
  const outpost = await createOutpost({
    db,
    clock,
    ids,
    origin: TEST_ORIGIN,
    syncMode: 'fallback',
    worker: noWorker(),
    transport: (input, init) => (backend ?? server.fetch)(new Request(input, init)),
    network: networkPort,
    storage: fakeStorage(),
    persistence,
    pageSync: testPageSyncPorts(network, flushes.locks),
  });
  // Tests start where a page is once it has loaded: the storage estimate shown, and page sync started (it
  // loads after the first render) with its first flush, which sends what an earlier visit left, done.
  await firstValueFrom(outpost.storage$.pipe(filter((storage) => storage !== null)));
  await firstValueFrom(
    outpost.persistence$.pipe(filter((value) => value !== null && value.state !== 'checking')),
  );
  await flushes.first;
  const realSyncNow = outpost.syncNow;
  return {
    ...outpost,
    clock,
    ids,
    network,
    server,
    syncNow: vi.fn(() => realSyncNow()),
    settle: flushes.settled,
  };
}

/**
 * Web Locks for Node (granted in request order) that also tell when the page's flushes ran: every flush
 * runs under the flush lock, so the lock's holds are the flushes.
 */
function watchedFlushLocks() {
  const { locks } = createFakeLocks();
  const running = new Set<Promise<void>>();
  let firstDone: () => void = () => undefined;
  const first = new Promise<void>((resolve) => {
    firstDone = resolve;
  });
  const watched = {
    request(name: string, callback: () => Promise<unknown>): Promise<unknown> {
      const hold = locks.request(name, callback);
      if (name === FLUSH_LOCK_NAME) {
        const done: Promise<void> = hold
          .catch(() => undefined)
          .then(() => {
            running.delete(done);
            firstDone();
          });
        running.add(done);
      }
      return hold;
    },
  };
  return {
    locks: watched as unknown as LockManager,
    first,
    async settled() {
      while (running.size > 0) await Promise.all(running);
    },
  };
}

/** A page no service worker controls: no update ever waits, and the worker cannot be asked anything. */
function noWorker(): WorkerHandle {
  return {
    registration: new Promise<ServiceWorkerRegistration>(() => undefined),
    update$: new BehaviorSubject(false),
    applyUpdate: () => undefined,
    request: async () => {
      throw new WorkerRequestError('no_worker', 'No service worker in DOM tests');
    },
  };
}

function fakeStorage(): StorageManager {
  return {
    estimate: async () => ({ usage: TEST_STORAGE.usage, quota: TEST_STORAGE.quota }),
    persist: async () => true,
    persisted: async () => true,
    getDirectory: () => Promise.reject(new Error('No origin private file system in DOM tests')),
  };
}

/** Page sync's ports: the watched locks, no channel (one page, no worker), `online` from the switch. */
function testPageSyncPorts(network: BehaviorSubject<boolean>, locks: LockManager): PageSyncPorts {
  return {
    locks,
    openChannel: () => null,
    signals: {
      onWake(listener) {
        const back = network.pipe(skip(1), filter(Boolean)).subscribe(() => listener('online'));
        return () => back.unsubscribe();
      },
      setTimer: (callback, delayMs) => setTimeout(callback, delayMs),
      clearTimer: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
    },
    controlled: () => false,
  };
}

/** Creates an order with the given products through the real command handler; returns its id. */
export async function seedOrder(
  outpost: TestOutpost,
  customerName: string,
  products: readonly { sku: string; name: string; unitPrice: number; quantity: number }[] = [],
): Promise<string> {
  const orderId = outpost.ids();
  const created = await outpost.execute({
    command: { type: 'CreateOrder', orderId, customerName, currency: 'EUR' },
  });
  if (!created.ok) throw created.error;
  for (const product of products) {
    const added = await outpost.execute({ command: { type: 'AddProduct', orderId, ...product } });
    if (!added.ok) throw added.error;
  }
  return orderId;
}

/** What the sync engine does when the server refuses an entry: the row goes dead with the server's word. */
export async function killEntry(db: OutpostDb, orderId: string, version: number, lastError: string) {
  const streamId = streamIdOf(orderId);
  await db.transaction('rw', ['outbox', 'streams', 'deliveries'], async () => {
    const row = await db.outbox.where('[streamId+version]').equals([streamId, version]).first();
    if (!row) throw new Error(`no outbox row for ${streamId} v${version}`);
    await db.outbox.put({ ...row, status: 'dead', attempts: 1, deadCode: 'rejected:invalid', lastError });
    await refreshDelivery(db, [streamId]);
  });
}

/**
 * What the sync engine does around one push, with its own claim and apply transactions: every pending entry
 * is leased as one batch (in flight while the request hangs); `deliver()` then records the server's
 * `accepted` for all of them.
 */
export async function sendEverything(outpost: TestOutpost): Promise<{ deliver(): Promise<void> }> {
  const { db, clock } = outpost;
  const ownerId = 'dom-flusher';
  const claim = await claimBatch(db, {
    ownerId,
    batchId: outpost.ids(),
    now: clock.now(),
    policy: defaultRetryPolicy,
    limit: 100,
    byteBudget: 1_000_000,
    exclude: new Set(),
    ignoreBackoff: false,
  });
  return {
    async deliver() {
      await applyAnswer(db, db.streamTypes, {
        ownerId,
        batchId: claim.batchId,
        now: clock.now(),
        policy: defaultRetryPolicy,
        random: () => 0.5,
        entries: claim.entries,
        verdicts: claim.entries.map(() => ({ kind: 'delivered' }) as const),
        serverEvents: [],
        meta: {},
      });
    },
  };
}

/** Everything a command could have written, to prove a refused one wrote nothing. */
export async function snapshot(db: OutpostDb) {
  const [events, outbox, summaries, commands] = await Promise.all([
    db.events.count(),
    db.outbox.count(),
    orderSummaries(db),
    db.commands.count(),
  ]);
  return { events, outbox, summaries, commands };
}
