import { http } from 'msw';
import { setupServer } from 'msw/node';
import { BehaviorSubject, filter, firstValueFrom } from 'rxjs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { streamIdOf } from '../../../src/orders/stream-ids';
import { readAccount } from '../../../src/outbox/device/sync/account';
import { FLUSH_LOCK_NAME } from '../../../src/outbox/device/sync/flush-lock';
import { systemClock, uuidv7Generator } from '../../../src/outbox/ids';
import type { OutpostDb } from '../../../src/outbox/page/database';
import { type Outbox, openOutbox } from '../../../src/outbox/page/outbox';
import type { SyncStatus } from '../../../src/outbox/page/status';
import {
  type InProcessUsersServer,
  inProcessUsersServer,
  ORIGIN,
} from '../../server/support/in-process-auth';
import { openTestDb } from '../../support/app-db';
import { fakePersistence } from '../../support/fake-persistence';
import { createFakeLocks } from '../pwa/fake-locks';

/**
 * A device that lost its account while the browser kept the session (docs/sync.md, "Devices"): its database
 * vanished, its cookies stayed. The page asks the server whom the session names, once, and the device sends
 * as them, exactly as a sign-in makes it. Real page outbox on fake-indexeddb, the core's AUTH=users server
 * in this process behind msw/node, and a cookie jar playing the browser's (the server's cookies, HttpOnly).
 */

const PASSWORD = 'alice-long-password';

let server: InProcessUsersServer;
/** The browser's cookies for the origin: what the server set, sent back with every request. */
const jar = new Map<string, string>();
/** Every request the device made, as `METHOD /path`, and whether the browser held a session then. */
let requests: { readonly route: string; readonly session: boolean }[] = [];
interface OpenPage {
  readonly outbox: Outbox;
  readonly db: OutpostDb;
  readonly locks: ReturnType<typeof createFakeLocks>;
  readonly network: BehaviorSubject<boolean>;
  /** A closed page's requests fail as a gone page's would: it never reaches a later test's server. */
  closed: boolean;
}
const pages: OpenPage[] = [];

const msw = setupServer(
  http.all(`${ORIGIN}/api/*`, async ({ request }) => {
    const url = new URL(request.url);
    requests.push({ route: `${request.method} ${url.pathname}`, session: jar.has('outpost_session') });
    const headers = new Headers(request.headers);
    if (jar.size > 0) headers.set('cookie', [...jar].map(([name, value]) => `${name}=${value}`).join('; '));
    const answer = await server.fetch(new Request(request, { headers }));
    for (const cookie of answer.headers.getSetCookie()) {
      const [pair = '', ...flags] = cookie.split(';');
      const [name = '', value = ''] = pair.split('=');
      if (flags.some((flag) => /^\s*max-age=0$/i.test(flag))) jar.delete(name.trim());
      else jar.set(name.trim(), value);
    }
    return answer;
  }),
);

beforeAll(() => msw.listen({ onUnhandledRequest: 'error' }));
afterAll(() => msw.close());
afterEach(async () => {
  await closePages();
  msw.resetHandlers();
  jar.clear();
  requests = [];
});

async function closePages(): Promise<void> {
  for (const page of pages.splice(0)) {
    page.closed = true;
    page.network.next(false);
    // Every flush runs under the flush lock: once it is free, nothing of this page writes any more.
    await page.locks.locks.request(FLUSH_LOCK_NAME, async () => undefined);
    page.db.close();
  }
}

/** The app opened in this browser on the database `name` (a vanished one is a new name, the cookies kept). */
async function openPage(name: string, online = true) {
  const db = openTestDb({ name });
  const network = new BehaviorSubject(online);
  const locks = createFakeLocks();
  const page = { closed: false };
  const outbox = await openOutbox({
    database: db,
    endpoint: `${ORIGIN}/api/sync`,
    clock: systemClock,
    syncMode: 'fallback',
    feed: true,
    transport: (input, init) =>
      page.closed ? Promise.reject(new TypeError('Failed to fetch')) : fetch(input, init),
    network: { isOnline: () => network.value, online$: network.asObservable() },
    storage: {
      estimate: async () => ({ usage: 0, quota: 1_000_000_000 }),
      persist: async () => true,
      persisted: async () => true,
      getDirectory: () => Promise.reject(new Error('none')),
    },
    persistence: fakePersistence({ persisted: true }),
    pageSync: {
      locks: locks.locks,
      openChannel: () => null,
      signals: {
        onWake: (listener) => {
          const back = network.pipe(filter(Boolean)).subscribe(() => listener('online'));
          return () => back.unsubscribe();
        },
        setTimer: (callback, delayMs) => setTimeout(callback, delayMs),
        clearTimer: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
      },
      controlled: () => false,
    },
  });
  pages.push(Object.assign(page, { outbox, db, locks, network }));
  return { outbox, db, network };
}

const statusWhere = (outbox: Outbox, ready: (status: SyncStatus) => boolean) =>
  firstValueFrom(outbox.status$.pipe(filter(ready)));

async function takeOrder(outbox: Outbox, customerName: string): Promise<string> {
  const orderId = uuidv7Generator(systemClock)();
  const created = await outbox.execute({
    command: { type: 'CreateOrder', orderId, customerName, currency: 'EUR' },
  });
  if (!created.ok) throw created.error;
  return orderId;
}

const ownerOf = (orderId: string) =>
  server.storage.read(
    async (reader) => (await reader.streams([streamIdOf(orderId)])).get(streamIdOf(orderId))?.owner ?? null,
  );

const asked = (route: string) => requests.filter((request) => request.route === route).length;

/** Alice signs in on a device named "Till", takes an order and sees it delivered; the page is then gone. */
async function aliceUsedTheTill(name: string): Promise<string> {
  const till = await openPage(name);
  const signedIn = await till.outbox.signIn('alice', PASSWORD);
  if (!signedIn.ok) throw new Error(signedIn.error.message);
  const renamed = await till.outbox.renameDevice('Till');
  if (!renamed.ok) throw renamed.error;
  const orderId = await takeOrder(till.outbox, 'Pier Kiosk');
  await statusWhere(till.outbox, (status) => status.phase === 'idle' && status.pending === 0);
  await expect.poll(() => ownerOf(orderId)).toBe('alice');
  await expect.poll(() => asked('POST /api/sync/device')).toBeGreaterThan(0);
  await closePages();
  return orderId;
}

describe('a device whose database vanished while the browser kept the session', () => {
  it('learns once from the server who the session names, says so, and sends what it holds as theirs', async () => {
    server = inProcessUsersServer();
    const added = await server.admin.addUser('alice', async () => PASSWORD);
    if (!added.ok) throw new Error('could not add alice');
    await aliceUsedTheTill('till-1');
    requests = [];

    // The database is gone, the cookies stayed. Offline at first, an order is taken before anything is known.
    const device = await openPage('till-1-after-eviction', false);
    const before = await takeOrder(device.outbox, 'Quay Bakery');
    expect((await readAccount(device.db)).user).toBeNull();
    expect(asked('GET /api/auth/me')).toBe(0);

    device.network.next(true);
    const status = await statusWhere(device.outbox, (current) => current.user !== null);
    expect(status.user).toBe('alice');
    expect(status.vanished).toMatchObject({ device: 'Till', user: 'alice' });
    const account = await readAccount(device.db);
    expect(account).toMatchObject({ user: 'alice', signIns: 1 });
    expect(account.clientIds).toEqual({ alice: device.outbox.clientId });

    // What it takes from now on is hers, and what it held goes as hers: nothing was sent without her session.
    const after = await takeOrder(device.outbox, 'Dock Deli');
    await statusWhere(device.outbox, (current) => current.phase === 'idle' && current.pending === 0);
    await expect.poll(() => Promise.all([ownerOf(before), ownerOf(after)])).toEqual(['alice', 'alice']);
    expect(requests.filter((request) => request.route === 'POST /api/sync/push').length).toBeGreaterThan(0);
    expect(requests.every((request) => request.session)).toBe(true);

    // Once per start: more writes and flushes ask nothing more, and nothing signs in again.
    await takeOrder(device.outbox, 'Harbour Café');
    await statusWhere(device.outbox, (current) => current.phase === 'idle' && current.pending === 0);
    expect(asked('GET /api/auth/me')).toBe(1);
    expect((await readAccount(device.db)).signIns).toBe(1);
  });
});

describe('a device with nobody signed in and no session', () => {
  it('asks once at start, hears 401, and changes nothing: the person signs in as before', async () => {
    server = inProcessUsersServer();
    const added = await server.admin.addUser('alice', async () => PASSWORD);
    if (!added.ok) throw new Error('could not add alice');
    await aliceUsedTheTill('till-2');
    const signedOut = await openPage('till-2');
    const ended = await signedOut.outbox.signOut();
    if (!ended.ok) throw new Error(ended.error.message);
    expect(jar.has('outpost_session')).toBe(false);
    await closePages();
    const stored = await readAccountOf('till-2');
    requests = [];

    // Someone signed in here before, so the server has sign-in: the next start asks, and hears no session.
    const device = await openPage('till-2');
    await expect.poll(() => asked('GET /api/auth/me')).toBe(1);
    await takeOrder(device.outbox, 'Quay Bakery');
    const paused = await statusWhere(device.outbox, (status) => status.phase === 'auth');
    expect(paused.user).toBeNull();
    expect(await readAccount(device.db)).toEqual(stored);
    expect(asked('GET /api/auth/me')).toBe(1);
  });
});

async function readAccountOf(name: string) {
  const db = openTestDb({ name });
  try {
    return await readAccount(db);
  } finally {
    db.close();
  }
}
