import * as v from 'valibot';
import { describe, expect, it } from 'vitest';
import { ManualClock, uuidv7Generator } from '../../src/outbox/ids';
import { DeviceResponseSchema, FeedPageSchema, HistoryPageSchema } from '../../src/outbox/protocol/feed';
import {
  ErrorBodySchema,
  PushResponseSchema,
  type WireClientEvent,
} from '../../src/outbox/protocol/messages';
import { createSyncHandler } from '../../src/outbox/server/http';
import { createMemoryStorage } from '../../src/outbox/server/memory-storage';
import { serverStreamTypes as streamTypes } from '../../src/server-plugins';
import { OrderStreamBuilder } from './protocol-contract';
import { type InProcessUsersServer, inProcessUsersServer, ORIGIN } from './support/in-process-auth';

/**
 * The feed extension's routes in process (docs/protocol.md, "The feed"): what a device reads of the others,
 * who may see what, the device cookie, the live channel, and a protocol v1 server that has none of it.
 */

const ids = uuidv7Generator();
const BASE = `${ORIGIN}/api/sync`;

type Fetch = (request: Request) => Promise<Response>;

function openServer(feed = true) {
  const clock = new ManualClock();
  const storage = createMemoryStorage();
  const handle = createSyncHandler({
    streamTypes,
    storage,
    clock,
    ids: uuidv7Generator(clock),
    feed: feed ? storage.feed : null,
  });
  return { fetch: handle, storage };
}

const get = (fetch: Fetch, path: string, headers: Record<string, string> = {}) =>
  fetch(new Request(`${BASE}/${path}`, { headers }));

async function push(fetch: Fetch, clientId: string, events: WireClientEvent[], headers = {}) {
  const response = await fetch(
    new Request(`${BASE}/push`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ protocol: 1, clientId, batchId: ids(), events }),
    }),
  );
  expect(response.status).toBe(200);
  return v.parse(PushResponseSchema, await response.json());
}

/** An order pushed whole by `clientId`: created, one line, placed (the server confirms it). */
async function takeOrder(
  fetch: Fetch,
  clientId: string,
  headers = {},
): Promise<{ streamId: string; events: WireClientEvent[] }> {
  const order = new OrderStreamBuilder(ids, clientId);
  const events = [order.created(), order.added('COF-1', 2, 450), order.placed(900, 1)];
  await push(fetch, clientId, events, headers);
  return { streamId: order.streamId, events };
}

async function feedOf(fetch: Fetch, query: string, headers = {}) {
  const response = await get(fetch, `feed?${query}`, headers);
  expect(response.status).toBe(200);
  return v.parse(FeedPageSchema, await response.json());
}

const errorCode = async (response: Response) => v.parse(ErrorBodySchema, await response.json()).error.code;

describe('a server without the feed (protocol v1 only)', () => {
  it('answers every feed route 404, and push and pull as before', async () => {
    const { fetch } = openServer(false);
    const clientId = ids();
    for (const path of [
      `feed?clientId=${clientId}`,
      `feed/history?clientId=${clientId}`,
      `feed/live?clientId=${clientId}`,
    ]) {
      const response = await get(fetch, path);
      expect(response.status).toBe(404);
      expect(await errorCode(response)).toBe('not_found');
    }
    const device = await fetch(
      new Request(`${BASE}/device`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ clientId, name: 'Till' }),
      }),
    );
    expect(device.status).toBe(404);
    const order = await takeOrder(fetch, clientId);
    const pulled = await get(fetch, `pull?clientId=${clientId}`);
    expect(((await pulled.json()) as { serverEvents: { streamId: string }[] }).serverEvents).toEqual([
      expect.objectContaining({ streamId: order.streamId, type: 'OrderConfirmed' }),
    ]);
  });
});

describe('the feed without users (AUTH=none)', () => {
  it("gives any device every device's client events and the server's decisions, in order, page by page", async () => {
    const { fetch } = openServer();
    const counter = ids();
    const tablet = ids();
    const first = await takeOrder(fetch, counter);
    const second = await takeOrder(fetch, tablet);
    const page = await feedOf(fetch, `clientId=${tablet}&limit=4`);
    expect(page.events.map((event) => [event.kind, event.type])).toEqual([
      ['client', 'OrderCreated'],
      ['client', 'ProductAdded'],
      ['client', 'OrderPlaced'],
      ['server', 'OrderConfirmed'],
    ]);
    expect(page.events.every((event) => event.streamId === first.streamId)).toBe(true);
    expect(page).toMatchObject({ hasMore: true, authors: { [counter]: { user: null, device: null } } });
    const next = await feedOf(fetch, `clientId=${tablet}&since=${encodeURIComponent(page.cursor)}`);
    expect(next.events.map((event) => event.streamId)).toEqual(Array(4).fill(second.streamId));
    expect(next.hasMore).toBe(false);
    // A client event comes exactly as it was pushed, with its kind added.
    expect(page.events[0]).toEqual({ kind: 'client', ...first.events[0] });
  });

  it('refuses a malformed query with 400 and says which part', async () => {
    const { fetch } = openServer();
    const clientId = ids();
    for (const query of [
      '',
      `clientId=${clientId}&since=nope`,
      `clientId=${clientId}&limit=0`,
      `clientId=${clientId}&limit=1001`,
    ]) {
      const response = await get(fetch, `feed?${query}`);
      expect(response.status, query).toBe(400);
      expect(await errorCode(response)).toBe('invalid_query');
    }
    const orphan = await get(fetch, `feed/history?clientId=${clientId}&before=3`);
    expect(orphan.status).toBe(400);
  });

  it('gives a new device whole streams, newest first, counted on the first page', async () => {
    const { fetch } = openServer();
    const device = ids();
    const orders = [
      await takeOrder(fetch, ids()),
      await takeOrder(fetch, ids()),
      await takeOrder(fetch, ids()),
    ];
    const first = v.parse(
      HistoryPageSchema,
      await (await get(fetch, `feed/history?clientId=${device}&limit=2`)).json(),
    );
    expect(first).toMatchObject({ streams: 2, total: 3 });
    expect([...new Set(first.events.map((event) => event.streamId))]).toEqual([
      orders[2]?.streamId,
      orders[1]?.streamId,
    ]);
    const rest = v.parse(
      HistoryPageSchema,
      await (
        await get(
          fetch,
          `feed/history?clientId=${device}&head=${encodeURIComponent(first.head)}&before=${encodeURIComponent(first.before ?? '')}`,
        )
      ).json(),
    );
    expect(rest).toMatchObject({ streams: 1, before: null, total: null });
    expect(rest.events).toHaveLength(4);
  });
});

describe('the feed with users (AUTH=users)', () => {
  async function usersServer(shareStreams: boolean): Promise<{
    server: InProcessUsersServer;
    alice: Record<string, string>;
    bob: Record<string, string>;
  }> {
    const server = inProcessUsersServer({ shareStreams });
    const sessions: Record<string, string> = {};
    for (const name of ['alice', 'bob']) {
      await server.admin.addUser(name, async () => `${name}-password`);
      const login = await server.fetch(
        new Request(`${ORIGIN}/api/auth/login`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ username: name, password: `${name}-password` }),
        }),
      );
      const session = /^outpost_session=([^;]*)/.exec(login.headers.get('set-cookie') ?? '')?.[1];
      sessions[name] = `outpost_session=${session}`;
    }
    return {
      server,
      alice: { cookie: sessions.alice ?? '' },
      bob: { cookie: sessions.bob ?? '' },
    };
  }

  it("shows each user their own streams on all their devices, and none of another user's", async () => {
    const { server, alice, bob } = await usersServer(false);
    const fetch = (request: Request) => server.fetch(request);
    const unauthenticated = await get(fetch, `feed?clientId=${ids()}`);
    expect(unauthenticated.status).toBe(401);
    const alicesTill = ids();
    const alicesPhone = ids();
    const order = await takeOrder(fetch, alicesTill, alice);
    await takeOrder(fetch, ids(), bob);
    const onPhone = await feedOf(fetch, `clientId=${alicesPhone}`, alice);
    expect(new Set(onPhone.events.map((event) => event.streamId))).toEqual(new Set([order.streamId]));
    expect(onPhone.authors).toEqual({ [alicesTill]: { user: 'alice', device: null } });
    const bobs = await feedOf(fetch, `clientId=${ids()}`, bob);
    expect(bobs.events.some((event) => event.streamId === order.streamId)).toBe(false);
  });

  it('shows every user every stream, and lets them change it, when the shop shares its streams', async () => {
    const { server, alice, bob } = await usersServer(true);
    const fetch = (request: Request) => server.fetch(request);
    const order = new OrderStreamBuilder(ids, ids());
    await push(fetch, order.clientId, [order.created(), order.added('COF-1', 1, 100)], alice);
    const bobsDevice = ids();
    const seen = await feedOf(fetch, `clientId=${bobsDevice}`, bob);
    expect(seen.events.map((event) => event.streamId)).toEqual([order.streamId, order.streamId]);
    const cancel = {
      ...order.cancelled('Bob took the call'),
      metadata: { ...order.cancelled().metadata, clientId: bobsDevice },
    };
    const answer = await push(fetch, bobsDevice, [{ ...cancel, version: 3 }], bob);
    expect(answer.results).toEqual([{ eventId: cancel.eventId, status: 'accepted' }]);
  });
});

describe('the device route', () => {
  const register = (fetch: Fetch, clientId: string, name: string, cookie?: string) =>
    fetch(
      new Request(`${BASE}/device`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(cookie ? { cookie } : {}) },
        body: JSON.stringify({ clientId, name }),
      }),
    );

  it("names the device in the feed, and sets a cookie only the server reads, naming this device's clientId", async () => {
    const { fetch } = openServer();
    const till = ids();
    const response = await register(fetch, till, '  Counter tablet ');
    expect(response.status).toBe(200);
    expect(v.parse(DeviceResponseSchema, await response.json())).toEqual({ protocol: 1, previous: null });
    const cookie = response.headers.get('set-cookie') ?? '';
    expect(cookie).toMatch(
      new RegExp(`^outpost_device=${till}; Path=/api; Max-Age=\\d+; HttpOnly; SameSite=Strict$`),
    );
    await takeOrder(fetch, till);
    expect((await feedOf(fetch, `clientId=${ids()}`)).authors).toEqual({
      [till]: { user: null, device: 'Counter tablet' },
    });
  });

  it('tells a browser whose database vanished what it was, once, from its cookie', async () => {
    const { fetch } = openServer();
    const before = ids();
    await register(fetch, before, 'Counter tablet');
    await takeOrder(fetch, before);
    const after = ids();
    const wiped = await register(fetch, after, 'Chrome on Linux', `outpost_device=${before}`);
    expect(v.parse(DeviceResponseSchema, await wiped.json()).previous).toEqual({
      clientId: before,
      device: 'Counter tablet',
      user: null,
    });
    const again = await register(fetch, after, 'Chrome on Linux', `outpost_device=${after}`);
    expect(v.parse(DeviceResponseSchema, await again.json()).previous).toBe(null);
  });

  it('refuses what is not a device: 400, 415 and 413, nothing stored', async () => {
    const { fetch } = openServer();
    const bad = await register(fetch, 'not-a-uuid', 'Till');
    expect([bad.status, await errorCode(bad)]).toEqual([400, 'invalid_request']);
    const empty = await register(fetch, ids(), '   ');
    expect(empty.status).toBe(400);
    const text = await fetch(new Request(`${BASE}/device`, { method: 'POST', body: 'hello' }));
    expect(text.status).toBe(415);
    const huge = await fetch(
      new Request(`${BASE}/device`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ clientId: ids(), name: 'x'.repeat(10_000) }),
      }),
    );
    expect(huge.status).toBe(413);
  });
});

describe('the live channel', () => {
  /** Reads Server-Sent Events off a response until `count` `feed` events arrived (or the bound passed). */
  async function pokes(response: Response, count: number, boundMs = 5_000): Promise<string[]> {
    const reader = response.body?.getReader();
    if (!reader) throw new Error('no body');
    const decoder = new TextDecoder();
    let text = '';
    const deadline = Date.now() + boundMs;
    const found = () => text.split('\n\n').filter((block) => block.startsWith('event: feed'));
    while (found().length < count && Date.now() < deadline) {
      const chunk = await Promise.race([
        reader.read(),
        new Promise<null>((resolve) => setTimeout(() => resolve(null), deadline - Date.now())),
      ]);
      if (chunk === null || chunk.done) break;
      text += decoder.decode(chunk.value, { stream: true });
    }
    await reader.cancel();
    return found();
  }

  it('pokes at once on opening, and again when another device stores something', async () => {
    const { fetch } = openServer();
    const response = await get(fetch, `feed/live?clientId=${ids()}`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const heard = pokes(response, 2);
    // Let the channel subscribe before the other device writes.
    await new Promise((resolve) => setTimeout(resolve, 50));
    await takeOrder(fetch, ids());
    expect(await heard).toHaveLength(2);
  });
});
