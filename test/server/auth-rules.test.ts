import * as v from 'valibot';
import { describe, expect, it, vi } from 'vitest';
import { ManualClock, uuidv7Generator } from '../../src/outbox/ids';
import { MeResponseSchema } from '../../src/outbox/protocol/auth';
import { ErrorBodySchema, PullResponseSchema, PushResponseSchema } from '../../src/outbox/protocol/messages';
import { createAuthHandler } from '../../src/outbox/server/auth/auth-handler';
import { createMemoryAuthStore } from '../../src/outbox/server/auth/memory-auth-store';
import { createUserAccess } from '../../src/outbox/server/auth/user-access';
import { behindProxies } from '../../src/outbox/server/connection';
import { createSyncHandler } from '../../src/outbox/server/http';
import { createMemoryStorage } from '../../src/outbox/server/memory-storage';
import { serverStreamTypes as streamTypes } from '../../src/server-plugins';
import { OrderStreamBuilder, runProtocolContract } from './protocol-contract';
import { fakeAuthCrypto } from './support/fake-auth-crypto';
import { type InProcessUsersServer, inProcessUsersServer, ORIGIN } from './support/in-process-auth';

/**
 * The AUTH=users rules in process (memory stores, a fake KDF, a manual clock): what the real server does
 * over HTTP (http-auth.test.ts), here fast enough to cover every branch.
 */

const ids = uuidv7Generator();
const DAY = 24 * 3600 * 1000;

runProtocolContract('in-process handler, AUTH=users with a device token', async () => {
  const server = inProcessUsersServer();
  await server.admin.addUser('contract', async () => 'contract-password');
  const issued = await server.admin.issueDeviceToken('contract');
  if (!issued.ok) throw new Error(issued.message);
  return {
    fetch: (request) => server.fetch(request),
    baseUrl: `${ORIGIN}/api/sync`,
    token: issued.token,
    cleanup: () => server.storage.close(),
  };
});

async function withUsers(server: InProcessUsersServer, ...names: string[]): Promise<void> {
  for (const name of names) {
    const added = await server.admin.addUser(name, async () => `${name}-password`);
    expect(added.ok).toBe(true);
  }
}

function loginRequest(
  username: string,
  password: string,
  headers: Record<string, string> = {},
  url = `${ORIGIN}/api/auth/login`,
): Request {
  return new Request(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ username, password }),
  });
}

/** The session id from a login answer's Set-Cookie. */
function sessionOf(response: Response): string {
  const match = /^outpost_session=([^;]*)/.exec(response.headers.get('set-cookie') ?? '');
  if (!match?.[1]) throw new Error(`No session cookie in ${response.status}`);
  return match[1];
}

async function signIn(server: InProcessUsersServer, username: string, address?: string): Promise<string> {
  const response = await server.fetch(loginRequest(username, `${username}-password`), address);
  expect(response.status).toBe(204);
  return sessionOf(response);
}

const withSession = (session: string): Record<string, string> => ({ cookie: `outpost_session=${session}` });

function me(server: InProcessUsersServer, headers: Record<string, string>): Promise<Response> {
  return server.fetch(new Request(`${ORIGIN}/api/auth/me`, { headers }));
}

function pushRequest(clientId: string, events: unknown[], headers: Record<string, string>): Request {
  return new Request(`${ORIGIN}/api/sync/push`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ protocol: 1, clientId, batchId: ids(), events }),
  });
}

async function errorCode(response: Response): Promise<string> {
  return v.parse(ErrorBodySchema, await response.json()).error.code;
}

describe('AUTH=users: sessions', () => {
  it('signs in with a cookie scripts cannot read and other sites never send, scoped to /api', async () => {
    const server = inProcessUsersServer();
    await withUsers(server, 'alice');
    const response = await server.fetch(loginRequest('alice', 'alice-password'));
    expect(response.status).toBe(204);
    const cookie = response.headers.get('set-cookie') ?? '';
    expect(cookie).toMatch(/^outpost_session=[A-Za-z0-9_-]+; /);
    expect(cookie.split('; ').slice(1)).toEqual([
      'Path=/api',
      `Max-Age=${400 * 24 * 3600}`,
      'HttpOnly',
      'SameSite=Strict',
    ]);
    const answer = await me(server, withSession(sessionOf(response)));
    expect(v.parse(MeResponseSchema, await answer.json())).toEqual({ username: 'alice' });
  });

  it('marks the cookie Secure over HTTPS, behind a proxy that says so, or when told to', async () => {
    const direct = inProcessUsersServer();
    await withUsers(direct, 'alice');
    const overTls = await direct.fetch(
      loginRequest('alice', 'alice-password', {}, 'https://shop.test/api/auth/login'),
    );
    expect(overTls.headers.get('set-cookie')).toMatch(/; Secure$/);
    // Not behind a proxy: a client's own X-Forwarded-Proto is not believed.
    const forged = await direct.fetch(
      loginRequest('alice', 'alice-password', { 'x-forwarded-proto': 'https' }),
    );
    expect(forged.headers.get('set-cookie')).not.toMatch(/Secure/);

    const proxied = inProcessUsersServer({ connection: behindProxies(1) });
    await withUsers(proxied, 'alice');
    const viaProxy = await proxied.fetch(
      loginRequest('alice', 'alice-password', { 'x-forwarded-proto': 'https' }),
    );
    expect(viaProxy.headers.get('set-cookie')).toMatch(/; Secure$/);

    const always = inProcessUsersServer({ secureCookie: 'always' });
    await withUsers(always, 'alice');
    const plain = await always.fetch(loginRequest('alice', 'alice-password'));
    expect(plain.headers.get('set-cookie')).toMatch(/; Secure$/);
  });

  it('signs in whatever case and spaces a phone keyboard added to the name', async () => {
    const server = inProcessUsersServer();
    await withUsers(server, 'alice');
    const session = sessionOf(await server.fetch(loginRequest(' Alice', 'alice-password')));
    expect(await (await me(server, withSession(session))).json()).toEqual({ username: 'alice' });
  });

  it('answers me with 401 without a session, with an unknown one, or with a malformed cookie', async () => {
    const server = inProcessUsersServer();
    for (const headers of [{}, withSession('not-a-session'), { cookie: 'outpost_session="<script>"' }]) {
      const response = await me(server, headers);
      expect(response.status).toBe(401);
      expect(await errorCode(response)).toBe('unauthorized');
    }
  });

  it('gives a new id at every sign-in and ends the one the browser held', async () => {
    const server = inProcessUsersServer();
    await withUsers(server, 'alice');
    const first = await signIn(server, 'alice');
    const again = await server.fetch(loginRequest('alice', 'alice-password', withSession(first)));
    const second = sessionOf(again);
    expect(second).not.toBe(first);
    expect((await me(server, withSession(first))).status).toBe(401);
    expect((await me(server, withSession(second))).status).toBe(200);
  });

  it('ends the session at logout and clears the cookie', async () => {
    const server = inProcessUsersServer();
    await withUsers(server, 'alice');
    const session = await signIn(server, 'alice');
    const out = await server.fetch(
      new Request(`${ORIGIN}/api/auth/logout`, { method: 'POST', headers: withSession(session) }),
    );
    expect(out.status).toBe(204);
    expect(out.headers.get('set-cookie')).toMatch(/^outpost_session=; Path=\/api; Max-Age=0; HttpOnly/);
    expect((await me(server, withSession(session))).status).toBe(401);
    // Logging out twice, or without a session, is no error.
    const twice = await server.fetch(new Request(`${ORIGIN}/api/auth/logout`, { method: 'POST' }));
    expect(twice.status).toBe(204);
  });

  it('slides the expiry with use, and ends a session left unused for its whole lifetime', async () => {
    const server = inProcessUsersServer({ sessionTtlMs: DAY });
    await withUsers(server, 'alice');
    const session = await signIn(server, 'alice');
    server.clock.advance(0.9 * DAY);
    expect((await me(server, withSession(session))).status).toBe(200);
    server.clock.advance(0.9 * DAY);
    expect((await me(server, withSession(session))).status).toBe(200);
    server.clock.advance(DAY);
    expect((await me(server, withSession(session))).status).toBe(401);
  });

  it('writes a sliding expiry at most once per 1% of the lifetime, not at every request', async () => {
    const server = inProcessUsersServer({ sessionTtlMs: DAY });
    await withUsers(server, 'alice');
    const session = await signIn(server, 'alice');
    const extend = vi.spyOn(server.store, 'extendSession');
    for (let request = 0; request < 5; request += 1) {
      server.clock.advance(1000);
      expect((await me(server, withSession(session))).status).toBe(200);
    }
    expect(extend).not.toHaveBeenCalled();
    server.clock.advance(0.01 * DAY);
    await me(server, withSession(session));
    expect(extend).toHaveBeenCalledTimes(1);
  });

  it('never stores a session id in clear', async () => {
    const server = inProcessUsersServer();
    await withUsers(server, 'alice');
    const session = await signIn(server, 'alice');
    expect(await server.store.findSession(session, server.clock.now())).toBeUndefined();
  });
});

describe('AUTH=users: failed sign-ins', () => {
  it('answers a wrong password and an unknown name alike, running the KDF once for each', async () => {
    const server = inProcessUsersServer();
    await withUsers(server, 'alice');
    const before = server.calls.verify;
    const wrong = await server.fetch(loginRequest('alice', 'not-her-password'));
    const unknown = await server.fetch(loginRequest('mallory', 'alice-password'));
    const invalid = await server.fetch(loginRequest('not a valid name!', 'x'));
    expect(server.calls.verify - before).toBe(3);
    const bodies = await Promise.all([wrong, unknown, invalid].map((response) => response.json()));
    expect([wrong.status, unknown.status, invalid.status]).toEqual([401, 401, 401]);
    expect(bodies[1]).toEqual(bodies[0]);
    expect(bodies[2]).toEqual(bodies[0]);
    expect(bodies[0]).toEqual({
      error: { code: 'invalid_credentials', message: 'Wrong username or password' },
    });
    expect(wrong.headers.get('set-cookie')).toBeNull();
  });

  it('refuses the sixth failure for a name within a minute with 429 and Retry-After, even the right password', async () => {
    const server = inProcessUsersServer();
    await withUsers(server, 'alice');
    for (let attempt = 1; attempt <= 5; attempt += 1) {
      const response = await server.fetch(loginRequest('alice', 'wrong'), `198.51.100.${attempt}`);
      expect(response.status).toBe(401);
      server.clock.advance(1000);
    }
    const verified = server.calls.verify;
    const sixth = await server.fetch(loginRequest('alice', 'alice-password'), '198.51.100.99');
    expect(sixth.status).toBe(429);
    expect(await errorCode(sixth)).toBe('rate_limited');
    expect(sixth.headers.get('retry-after')).toBe('55');
    // Refused before the KDF: a locked name costs the server nothing.
    expect(server.calls.verify).toBe(verified);
    // Another name is not held back by alice's failures.
    await withUsers(server, 'bob');
    await signIn(server, 'bob', '198.51.100.99');

    server.clock.advance(55_000);
    await signIn(server, 'alice', '198.51.100.99');
  });

  it('counts failures per address across names, more loosely than per name', async () => {
    const server = inProcessUsersServer();
    await withUsers(server, 'alice');
    for (let attempt = 1; attempt <= 20; attempt += 1) {
      const response = await server.fetch(loginRequest(`guess-${attempt}`, 'x'), '203.0.113.7');
      expect(response.status).toBe(401);
    }
    const limited = await server.fetch(loginRequest('alice', 'alice-password'), '203.0.113.7');
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    await signIn(server, 'alice', '203.0.113.8');
  });

  it('does not count successful sign-ins as failures', async () => {
    const server = inProcessUsersServer();
    await withUsers(server, 'alice');
    for (let attempt = 0; attempt < 25; attempt += 1) await signIn(server, 'alice', '203.0.113.9');
  });

  it('reads the address behind a trusted proxy from the hop the proxy added, not from what the client wrote', async () => {
    const server = inProcessUsersServer({ connection: behindProxies(1) });
    await withUsers(server, 'alice');
    // The client forges a different first hop each time; the proxy appends the address it saw.
    for (let attempt = 1; attempt <= 20; attempt += 1) {
      const forged = { 'x-forwarded-for': `10.0.0.${attempt}, 203.0.113.50` };
      const response = await server.fetch(loginRequest(`guess-${attempt}`, 'x', forged), '127.0.0.1');
      expect(response.status).toBe(401);
    }
    const limited = await server.fetch(
      loginRequest('alice', 'alice-password', { 'x-forwarded-for': '10.9.9.9, 203.0.113.50' }),
      '127.0.0.1',
    );
    expect(limited.status).toBe(429);
  });
});

describe('AUTH=users: sync needs a user', () => {
  it('answers push, pull and stats without credentials with the protocol 401, but not health', async () => {
    const server = inProcessUsersServer();
    const clientId = ids();
    const order = new OrderStreamBuilder(ids, clientId);
    const push = await server.fetch(pushRequest(clientId, [order.created()], {}));
    expect(push.status).toBe(401);
    expect(push.headers.get('www-authenticate')).toBe('Bearer');
    expect(await errorCode(push)).toBe('unauthorized');
    for (const path of [`/pull?clientId=${clientId}`, '/stats']) {
      const response = await server.fetch(new Request(`${ORIGIN}/api/sync${path}`));
      expect(response.status).toBe(401);
    }
    expect((await server.fetch(new Request(`${ORIGIN}/api/sync/health`))).status).toBe(200);
    expect(await server.storage.read(async (reader) => (await reader.stats()).eventsStored)).toBe(0);
  });

  it('takes a session cookie or a device token, and a wrong bearer token is not rescued by a cookie', async () => {
    const server = inProcessUsersServer();
    await withUsers(server, 'alice');
    const session = await signIn(server, 'alice');
    const issued = await server.admin.issueDeviceToken('alice');
    if (!issued.ok) throw new Error(issued.message);
    const pull = (headers: Record<string, string>) =>
      server.fetch(new Request(`${ORIGIN}/api/sync/pull?clientId=${ids()}`, { headers }));
    expect((await pull(withSession(session))).status).toBe(200);
    expect((await pull({ authorization: `Bearer ${issued.token}` })).status).toBe(200);
    expect((await pull({ authorization: 'Bearer wrong', ...withSession(session) })).status).toBe(401);
    expect((await pull({ authorization: `Basic ${issued.token}` })).status).toBe(401);
    expect(await server.store.findDeviceToken(issued.token)).toBeUndefined();
  });

  it("stops a removed user's sessions and device tokens at once", async () => {
    const server = inProcessUsersServer();
    await withUsers(server, 'alice');
    const session = await signIn(server, 'alice');
    const issued = await server.admin.issueDeviceToken('alice');
    if (!issued.ok) throw new Error(issued.message);
    expect((await server.admin.removeUser('alice')).ok).toBe(true);
    expect((await me(server, withSession(session))).status).toBe(401);
    expect((await me(server, { authorization: `Bearer ${issued.token}` })).status).toBe(401);
  });
});

describe('AUTH=users: every user sees and changes only their own orders', () => {
  async function twoUsers() {
    const server = inProcessUsersServer();
    await withUsers(server, 'alice', 'bob');
    return {
      server,
      alice: withSession(await signIn(server, 'alice')),
      bob: withSession(await signIn(server, 'bob')),
    };
  }

  it("refuses with 403 a push under another user's clientId, and stores nothing", async () => {
    const { server, alice, bob } = await twoUsers();
    const clientId = ids();
    const order = new OrderStreamBuilder(ids, clientId);
    expect((await server.fetch(pushRequest(clientId, [order.created()], alice))).status).toBe(200);
    const other = new OrderStreamBuilder(ids, clientId);
    const refused = await server.fetch(pushRequest(clientId, [other.created()], bob));
    expect(refused.status).toBe(403);
    expect(await errorCode(refused)).toBe('client_id_taken');
    expect(
      await server.storage.read(
        async (reader) => (await reader.streams([other.streamId])).get(other.streamId)?.events.length,
      ),
    ).toBe(0);
  });

  it("rejects with forbidden an event on another user's stream, stores nothing, and blocks the rest of it", async () => {
    const { server, alice, bob } = await twoUsers();
    const order = new OrderStreamBuilder(ids, ids());
    await server.fetch(pushRequest(order.clientId, [order.created()], alice));
    const bobsOwn = new OrderStreamBuilder(ids, ids());
    const added = order.added('SKU-1', 1, 100);
    const placed = order.placed(100, 1);
    const answer = await server.fetch(pushRequest(ids(), [added, placed, bobsOwn.created()], bob));
    const results = v.parse(PushResponseSchema, await answer.json()).results;
    expect(results.map(({ status, code }) => [status, code])).toEqual([
      ['rejected', 'forbidden'],
      ['retry', 'blocked'],
      ['accepted', undefined],
    ]);
    expect(
      await server.storage.read(
        async (reader) => (await reader.streams([order.streamId])).get(order.streamId)?.events.length,
      ),
    ).toBe(1);
  });

  it("answers a resent copy of another user's event with forbidden, not duplicate", async () => {
    const { server, alice, bob } = await twoUsers();
    const order = new OrderStreamBuilder(ids, ids());
    const created = order.created();
    await server.fetch(pushRequest(order.clientId, [created], alice));
    const answer = await server.fetch(pushRequest(ids(), [created], bob));
    const [result] = v.parse(PushResponseSchema, await answer.json()).results;
    expect(result).toMatchObject({ status: 'rejected', code: 'forbidden' });
  });

  it("never pulls another user's decisions, whatever clientId is named", async () => {
    const { server, alice, bob } = await twoUsers();
    const aliceClient = ids();
    const order = new OrderStreamBuilder(ids, aliceClient);
    const events = [order.created(), order.added('SKU-1', 1, 100), order.placed(100, 1)];
    await server.fetch(pushRequest(aliceClient, events, alice));
    const pull = async (headers: Record<string, string>) => {
      const response = await server.fetch(
        new Request(`${ORIGIN}/api/sync/pull?clientId=${aliceClient}`, { headers }),
      );
      return v.parse(PullResponseSchema, await response.json()).serverEvents;
    };
    expect((await pull(alice)).map((event) => event.streamId)).toEqual([order.streamId]);
    expect(await pull(bob)).toEqual([]);
  });

  it('gives a stream stored before sign-in existed to the first user who pushes to it', async () => {
    const { server, alice, bob } = await twoUsers();
    const order = new OrderStreamBuilder(ids, ids());
    await server.storage.transaction((tx) =>
      tx.write({ clientId: order.clientId, clientEvents: [order.created()] }),
    );
    const added = order.added('SKU-1', 1, 100);
    const first = await server.fetch(pushRequest(order.clientId, [added], alice));
    expect(v.parse(PushResponseSchema, await first.json()).results[0]?.status).toBe('accepted');
    const late = await server.fetch(pushRequest(ids(), [order.removed('SKU-1')], bob));
    expect(v.parse(PushResponseSchema, await late.json()).results[0]?.code).toBe('forbidden');
  });
});

describe('requests from another site', () => {
  it('refuses a POST whose Origin is not the server’s own or a configured one, and judges one without Origin by its credentials', async () => {
    const server = inProcessUsersServer({ corsOrigins: ['https://orders.example.com'] });
    await withUsers(server, 'alice');
    const session = withSession(await signIn(server, 'alice'));
    const clientId = ids();
    const push = (headers: Record<string, string>) =>
      server.fetch(pushRequest(clientId, [new OrderStreamBuilder(ids, clientId).created()], headers));

    const foreign = await push({ ...session, origin: 'https://evil.example.net' });
    expect(foreign.status).toBe(403);
    expect(await errorCode(foreign)).toBe('forbidden_origin');
    expect((await push({ ...session, origin: 'null' })).status).toBe(403);
    expect((await push({ ...session, origin: ORIGIN })).status).toBe(200);
    expect((await push({ ...session, origin: 'https://orders.example.com' })).status).toBe(200);
    expect((await push(session)).status).toBe(200);
    expect((await push({})).status).toBe(401);

    const login = await server.fetch(
      loginRequest('alice', 'alice-password', { origin: 'https://evil.example.net' }),
    );
    expect(login.status).toBe(403);
    expect(login.headers.get('set-cookie')).toBeNull();
  });

  it('keeps refusing a body that is not declared as JSON with 415', async () => {
    const server = inProcessUsersServer();
    const form = new Request(`${ORIGIN}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'username=alice&password=x',
    });
    expect((await server.fetch(form)).status).toBe(415);
    const logout = new Request(`${ORIGIN}/api/auth/logout`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: 'x',
    });
    expect((await server.fetch(logout)).status).toBe(415);
  });
});

describe('a failing auth store', () => {
  it('answers 500 with the error body, never an accidental sign-in or a hang', async () => {
    const clock = new ManualClock();
    const failing = new Proxy(createMemoryAuthStore(), {
      get: () => () => Promise.reject(new Error('disk I/O error')),
    });
    const access = createUserAccess({ store: failing, crypto: fakeAuthCrypto().crypto, clock });
    const auth = createAuthHandler({ access });
    const sync = createSyncHandler({
      streamTypes,
      storage: createMemoryStorage(),
      clock,
      ids,
      access,
    });
    const answers = [
      await auth(loginRequest('alice', 'alice-password')),
      await auth(new Request(`${ORIGIN}/api/auth/me`, { headers: withSession('some-session') })),
      await sync(new Request(`${ORIGIN}/api/sync/pull?clientId=${ids()}`, { headers: withSession('x') })),
    ];
    for (const answer of answers) {
      expect(answer.status).toBe(500);
      expect(answer.headers.get('set-cookie')).toBeNull();
      expect(await errorCode(answer)).toBe('internal');
    }
  });
});

describe('behind a trusted proxy', () => {
  const proxied = behindProxies(1);
  const request = (headers: Record<string, string>) =>
    new Request('http://127.0.0.1:8080/api/sync/push', { method: 'POST', headers });

  it('takes the public origin from the proxy, written as a browser writes an Origin', () => {
    expect(proxied.publicOrigin(request({ 'x-forwarded-proto': 'https' }))).toBe('https://127.0.0.1:8080');
    expect(
      proxied.publicOrigin(
        request({ 'x-forwarded-proto': 'HTTPS', 'x-forwarded-host': 'Shop.Example.com:443' }),
      ),
    ).toBe('https://shop.example.com');
    expect(proxied.publicOrigin(request({ 'x-forwarded-proto': 'gopher' }))).toBe('http://127.0.0.1:8080');
    expect(proxied.publicOrigin(request({ 'x-forwarded-host': 'bad host/x' }))).toBe('http://127.0.0.1:8080');
  });

  it('counts hops from the right, and falls back to the socket without X-Forwarded-For', () => {
    const peer = { remoteAddress: '10.0.0.1' };
    expect(proxied.clientAddress(request({ 'x-forwarded-for': 'forged, 203.0.113.5' }), peer)).toBe(
      '203.0.113.5',
    );
    expect(proxied.clientAddress(request({}), peer)).toBe('10.0.0.1');
    expect(
      behindProxies(2).clientAddress(request({ 'x-forwarded-for': 'forged, 203.0.113.5, 10.1.1.1' }), peer),
    ).toBe('203.0.113.5');
    expect(behindProxies(3).clientAddress(request({ 'x-forwarded-for': 'only-one' }), peer)).toBe('only-one');
  });
});
