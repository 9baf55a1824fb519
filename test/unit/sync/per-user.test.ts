import { afterEach, describe, expect, it } from 'vitest';
import { streamIdOf } from '../../../src/orders/stream-ids';
import { outboxStorage } from '../../../src/outbox/device/outbox-storage';
import { readAccount } from '../../../src/outbox/device/sync/account';
import { retryDeadLetter } from '../../../src/outbox/device/sync/dead-letters';
import { splitStream } from '../../../src/outbox/device/sync/sign-in';
import { readSyncFacts } from '../../../src/outbox/device/sync/sync-facts';
import { ManualClock, uuidv7Generator } from '../../../src/outbox/ids';
import { bearerToken, type SyncAccess } from '../../../src/outbox/server/access';
import { createSyncHandler } from '../../../src/outbox/server/http';
import { createMemoryStorage } from '../../../src/outbox/server/memory-storage';
import type { ServerStorage } from '../../../src/outbox/server/storage';
import { serverStreamTypes } from '../../../src/server-plugins';
import { BASE_URL, type ClientSide, createClientSide } from './harness';

/**
 * Events never change hands (docs/protocol.md): one device, several people signing in on it in turn, against
 * the real sync handler scoping by user. The browser holds one session at a time; here `session` plays it.
 */

/** Who the browser's cookie names right now; null when it holds none. */
let session: string | null = null;
/** While true, the sync server cannot be reached. */
let syncDown = false;
/** `Bearer <user>` names the user: the server's own sign-in is tested against the real process. */
const access: SyncAccess = {
  identify: async (request) => {
    const token = bearerToken(request);
    return typeof token === 'string' ? { owner: token } : null;
  },
};

interface Pushed {
  readonly user: string | null;
  readonly clientId: string;
  readonly streamIds: readonly string[];
}

function setup(seed: number) {
  const clock = new ManualClock(Date.parse('2026-12-04T09:00:00Z'));
  const client = createClientSide({ clock, seed });
  const server: ServerStorage = createMemoryStorage();
  const handle = createSyncHandler({
    streamTypes: serverStreamTypes,
    storage: server,
    clock,
    ids: uuidv7Generator(clock),
    access,
  });
  const pushes: Pushed[] = [];
  const transport: typeof fetch = async (input, init) => {
    if (syncDown) throw new TypeError('Failed to fetch');
    const headers = new Headers(init?.headers);
    if (session !== null) headers.set('Authorization', `Bearer ${session}`);
    const request = new Request(String(input), { ...init, headers });
    if (request.method === 'POST') {
      const body = (await request.clone().json()) as { clientId: string; events: { streamId: string }[] };
      pushes.push({
        user: session,
        clientId: body.clientId,
        streamIds: body.events.map((event) => event.streamId),
      });
    }
    return handle(request);
  };
  const engine = client.engine({ transport, baseUrl: BASE_URL });
  const storage = outboxStorage(client.db);
  const signIn = (user: string) => {
    session = user;
    return storage.signIn({ user, deviceClientId: client.clientId, newId: client.ids });
  };
  const signOut = () => {
    session = null;
    return storage.signOut();
  };
  return { clock, client, server, engine, storage, pushes, signIn, signOut };
}

const owners = (server: ServerStorage, orderIds: readonly string[]) =>
  server.read(async (reader) => {
    const streams = await reader.streams(orderIds.map(streamIdOf));
    return orderIds.map((orderId) => streams.get(streamIdOf(orderId))?.owner ?? null);
  });

let client: ClientSide | null = null;
afterEach(async () => {
  session = null;
  syncDown = false;
  await client?.close();
  client = null;
});

describe('one device, several users', () => {
  it('orders taken signed out wait for a sign-in, then go once under the user who signed in', async () => {
    const world = setup(1);
    client = world.client;
    const first = await world.client.draftOrder(['SKU-1']);
    const second = await world.client.draftOrder(['SKU-2', 'SKU-3']);

    expect((await world.engine.flush()).outcome).toBe('auth-required');
    const paused = await readSyncFacts(world.client.db);
    expect(paused.meta.authRequired).toBe(true);
    // What the prompt says: "Sign in to send 2 orders".
    expect(paused.unsentStreams).toEqual({ order: 2 });

    const signedIn = await world.signIn('alice');
    expect(signedIn.sender).toMatchObject({ user: 'alice', clientId: world.client.clientId });
    expect((await readSyncFacts(world.client.db)).meta.authRequired).toBe(false);
    const report = await world.engine.flush();
    expect(report).toMatchObject({ outcome: 'drained', delivered: 5 });
    expect(await owners(world.server, [first, second])).toEqual(['alice', 'alice']);
    expect(world.pushes.filter((push) => push.user !== null).every((push) => push.user === 'alice')).toBe(
      true,
    );
  });

  it("keeps one user's unsent orders from another user's pushes, shows them waiting, and sends them when their author is back", async () => {
    const world = setup(2);
    client = world.client;
    await world.signIn('alice');
    const delivered = await world.client.draftOrder(['SKU-1']);
    await world.engine.flush();
    const alices = await world.client.draftOrder(['SKU-2']);
    await world.signOut();

    const signedIn = await world.signIn('bob');
    expect(signedIn).toMatchObject({ parked: 2, unparked: 0, parkedFor: ['alice'] });
    // Bob pushes under a clientId of his own: alice's was given to her by the server.
    expect(signedIn.sender.clientId).not.toBe(world.client.clientId);
    const bobs = await world.client.draftOrder(['SKU-3']);
    const pushedBefore = world.pushes.length;
    expect(await world.engine.flush()).toMatchObject({ outcome: 'drained', delivered: 2 });

    const sinceBob = world.pushes.slice(pushedBefore);
    expect(sinceBob.every((push) => push.user === 'bob' && push.clientId === signedIn.sender.clientId)).toBe(
      true,
    );
    expect(sinceBob.flatMap((push) => push.streamIds)).not.toContain(streamIdOf(alices));
    expect(await owners(world.server, [delivered, alices, bobs])).toEqual(['alice', null, 'bob']);

    // Shown, and never "up to date" about them: the status counts them and names who they wait for.
    const facts = await readSyncFacts(world.client.db);
    expect(facts).toMatchObject({
      undelivered: 0,
      parked: 2,
      account: { user: 'bob', parkedFor: ['alice'] },
    });
    expect((await world.client.db.deliveries.get(streamIdOf(alices)))?.state).toBe('parked');
    expect((await world.client.db.deliveries.get(streamIdOf(alices)))?.waitingFor).toBe('alice');
    expect(await world.client.deliveries(alices)).toEqual(['parked', 'parked']);

    // Bob edits alice's order: his event waits behind hers, so nothing of a stream goes out of order.
    await world.client.run({
      type: 'AddProduct',
      orderId: alices,
      sku: 'SKU-9',
      name: 'Product SKU-9',
      quantity: 1,
      unitPrice: 100,
    });
    expect(await world.engine.flush()).toMatchObject({ sent: 0 });
    expect(await world.client.deliveries(alices)).toEqual(['parked', 'parked', 'parked']);

    await world.signOut();
    const back = await world.signIn('alice');
    expect(back).toMatchObject({ unparked: 2, parked: 0, sender: { clientId: world.client.clientId } });
    // Alice's two go; bob's event on her order is his, and waits for him.
    expect(await world.engine.flush()).toMatchObject({ delivered: 2 });
    expect(await world.client.deliveries(alices)).toEqual(['delivered', 'delivered', 'parked']);
    expect((await readAccount(world.client.db)).parkedFor).toEqual(['bob']);
    expect(await owners(world.server, [alices])).toEqual(['alice']);
  });

  it("a dead entry of one user's, retried while another is signed in, waits for its author", async () => {
    const world = setup(5);
    client = world.client;
    await world.signIn('alice');
    syncDown = true;
    const alices = await world.client.draftOrder(['SKU-1']);
    const rows = await world.client.outbox();
    const [first] = rows;
    if (!first) throw new Error('no row');
    // Dead, as a 400 leaves a whole batch: the person may retry it later.
    for (const row of rows) {
      await world.client.db.outbox.update(row.eventId, { status: 'dead', deadCode: 'bad_request' });
    }
    syncDown = false;
    await world.signOut();
    // Dead rows are the person's to deal with: a sign-in leaves them dead, so nothing waits for alice yet.
    expect((await world.signIn('bob')).parkedFor).toEqual([]);

    expect(await retryDeadLetter(world.client.db, first.eventId)).toMatchObject({ ok: true });
    expect((await world.client.outbox()).map((row) => row.status)).toEqual(['parked', 'parked']);
    // The status names whom they wait for, as after a sign-in.
    expect((await readAccount(world.client.db)).parkedFor).toEqual(['alice']);
    expect(await world.engine.flush()).toMatchObject({ sent: 0 });
    expect(await owners(world.server, [alices])).toEqual([null]);
  });

  it("pulls each user's decisions under their own clientId and cursor", async () => {
    const world = setup(3);
    client = world.client;
    await world.signIn('alice');
    const alices = await world.client.draftOrder(['SKU-1']);
    await world.client.run({ type: 'PlaceOrder', orderId: alices });
    await world.engine.flush();
    await world.signOut();
    await world.signIn('bob');
    const bobs = await world.client.draftOrder(['SKU-2']);
    await world.client.run({ type: 'PlaceOrder', orderId: bobs });
    await world.engine.flush();

    const cursors = (await world.client.db.meta.toArray()).filter((row) => row.key.startsWith('pullCursor'));
    expect(cursors.map((row) => row.key).sort()).toEqual([
      'pullCursor',
      `pullCursor:${(await readAccount(world.client.db)).clientIds.bob}`,
    ]);
    const serverEvents = (await world.client.db.events.toArray()).filter((event) => event.kind === 'server');
    expect(new Set(serverEvents.map((event) => event.streamId))).toEqual(
      new Set([streamIdOf(alices), streamIdOf(bobs)]),
    );
  });

  it('a user whose clientId the server gave to someone else goes on under a fresh one, nothing lost', async () => {
    const world = setup(4);
    client = world.client;
    // Carol used this device's clientId first, on another device the server knows her by.
    session = 'carol';
    await world.server.transaction((tx) =>
      tx.write({
        clientId: world.client.clientId,
        claims: { owner: 'carol', client: true, streams: [] },
      }),
    );
    await world.signIn('alice');
    const order = await world.client.draftOrder(['SKU-1']);
    const refused = await world.engine.flush();
    expect(refused).toMatchObject({ outcome: 'transient-failure', delivered: 0 });
    const account = await readAccount(world.client.db);
    expect(account.clientIds.alice).not.toBe(world.client.clientId);
    expect(await world.engine.flush()).toMatchObject({ outcome: 'drained', delivered: 2 });
    expect(await owners(world.server, [order])).toEqual(['alice']);
  });
});

describe('the split of a stream for the user signing in', () => {
  const row = (version: number, writtenBy: string | null) => ({
    eventId: `e${version}`,
    position: version,
    streamId: 'order-x',
    version,
    type: 'T',
    status: 'pending' as const,
    attempts: 0,
    nextAttemptAt: 0,
    lastError: null,
    deadCode: null,
    createdAt: 0,
    writtenBy,
  });

  it('sends the prefix written by them or by nobody, and parks everything from the first row of another', () => {
    const split = splitStream([row(3, 'bob'), row(1, null), row(2, 'alice'), row(4, 'alice')], 'alice');
    expect(split.sending.map((r) => [r.version, r.writtenBy, r.status])).toEqual([
      [1, 'alice', 'pending'],
      [2, 'alice', 'pending'],
    ]);
    expect(split.parked.map((r) => [r.version, r.status])).toEqual([
      [3, 'parked'],
      [4, 'parked'],
    ]);
    expect(split.waitingFor).toBe('bob');
  });

  it('parks nothing when every row is theirs or nobody’s', () => {
    const split = splitStream([row(1, 'alice'), row(2, null)], 'alice');
    expect(split.parked).toEqual([]);
    expect(split.waitingFor).toBeNull();
  });
});
