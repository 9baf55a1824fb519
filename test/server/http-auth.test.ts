import { join } from 'node:path';
import * as v from 'valibot';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uuidv7Generator } from '../../src/outbox/ids';
import { MeResponseSchema } from '../../src/outbox/protocol/auth';
import {
  ErrorBodySchema,
  PullResponseSchema,
  PushResponseSchema,
  type WireClientEvent,
} from '../../src/outbox/protocol/messages';
import { OrderStreamBuilder } from './protocol-contract';
import {
  runUserCommand,
  type ServerProcess,
  startServerProcess,
  stopAllServers,
  tempDir,
} from './support/server-process';

/**
 * Issue 13 over real HTTP: the real server process with AUTH=users (behind one trusted proxy, so each test
 * can speak from its own client address), users made with the real `npm run user` CLI.
 */

const temp = tempDir('auth');
const ids = uuidv7Generator();
const dataDir = join(temp.path, 'users');
let server: ServerProcess;
/** The same, with sessions that expire after 2 s unused. */
let shortLived: ServerProcess;
/** AUTH=none, as `npm start` runs by default. */
let open: ServerProcess;
let aliceToken = '';

beforeAll(async () => {
  // Exactly as an operator types it, once; the other users through node directly, which is faster.
  const alice = await runUserCommand(dataDir, ['add', 'alice'], { stdin: 'alice-password\n', viaNpm: true });
  expect(alice).toMatchObject({ code: 0, stdout: 'added user alice\n' });
  const shortDir = join(temp.path, 'short');
  // Several CLI processes on one file at once, as two operators might: the database serialises them.
  const runs = await Promise.all([
    ...['bob', 'carol', 'dave', 'erin'].map((name) =>
      runUserCommand(dataDir, ['add', name], { stdin: `${name}-password\n` }),
    ),
    runUserCommand(dataDir, ['token', 'alice']),
    runUserCommand(shortDir, ['add', 'alice'], { stdin: 'alice-password\n' }),
  ]);
  for (const run of runs) expect(run.code, run.stderr).toBe(0);
  aliceToken = runs[4]?.stdout.trim() ?? '';
  [server, shortLived, open] = await Promise.all([
    startServerProcess({ dataDir, auth: 'users', env: { TRUST_PROXY: '1' } }),
    startServerProcess({ dataDir: shortDir, auth: 'users', env: { SESSION_TTL: '2s' } }),
    startServerProcess({ dataDir: join(temp.path, 'open') }),
  ]);
}, 90_000);

afterAll(async () => {
  await stopAllServers();
  temp.remove();
});

let addressCounter = 0;
/** A client address of its own, as the trusted proxy reports it, so one test's failures never limit another's. */
const freshAddress = (): Record<string, string> => {
  addressCounter += 1;
  return { 'x-forwarded-for': `198.51.100.${addressCounter}` };
};

function login(
  target: ServerProcess,
  username: string,
  password: string,
  headers: Record<string, string> = freshAddress(),
): Promise<Response> {
  return fetch(`${target.origin}/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ username, password }),
  });
}

/** Signs in and answers the Cookie header that carries the new session. */
async function signIn(target: ServerProcess, username: string): Promise<{ cookie: string }> {
  const response = await login(target, username, `${username}-password`);
  expect(response.status).toBe(204);
  const session = /^outpost_session=([A-Za-z0-9_-]+);/.exec(response.headers.get('set-cookie') ?? '')?.[1];
  if (!session) throw new Error('no session cookie');
  return { cookie: `outpost_session=${session}` };
}

function push(
  target: ServerProcess,
  clientId: string,
  events: readonly WireClientEvent[],
  headers: Record<string, string>,
): Promise<Response> {
  return fetch(`${target.baseUrl}/push`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ protocol: 1, clientId, batchId: ids(), events }),
  });
}

function pull(target: ServerProcess, clientId: string, headers: Record<string, string>): Promise<Response> {
  return fetch(`${target.baseUrl}/pull?clientId=${clientId}`, { headers });
}

function me(target: ServerProcess, headers: Record<string, string>): Promise<Response> {
  return fetch(`${target.origin}/api/auth/me`, { headers });
}

async function errorOf(response: Response): Promise<{ code: string; message: string }> {
  return v.parse(ErrorBodySchema, await response.json()).error;
}

function placedOrder(clientId: string) {
  const order = new OrderStreamBuilder(ids, clientId);
  return { order, events: [order.created(), order.added('WIDGET-1', 2, 1250), order.placed(2500, 1)] };
}

describe('AUTH=users over HTTP: sign-in', () => {
  it('answers push and pull without a session with the protocol 401, storing nothing', async () => {
    const clientId = ids();
    const { events } = placedOrder(clientId);
    const pushed = await push(server, clientId, events, {});
    expect(pushed.status).toBe(401);
    expect(pushed.headers.get('www-authenticate')).toBe('Bearer');
    expect((await errorOf(pushed)).code).toBe('unauthorized');
    const pulled = await pull(server, clientId, {});
    expect(pulled.status).toBe(401);
    expect((await errorOf(pulled)).code).toBe('unauthorized');
    // The events were not stored: alice can push them now, all accepted.
    const session = await signIn(server, 'alice');
    const answer = v.parse(PushResponseSchema, await (await push(server, clientId, events, session)).json());
    expect(answer.results.map((result) => result.status)).toEqual(['accepted', 'accepted', 'accepted']);
  });

  it('sets an HttpOnly, SameSite=Strict session cookie on /api, Secure when the proxy says HTTPS', async () => {
    const plain = await login(server, 'alice', 'alice-password');
    expect(plain.status).toBe(204);
    const cookie = plain.headers.get('set-cookie') ?? '';
    expect(cookie).toMatch(
      /^outpost_session=[A-Za-z0-9_-]{43}; Path=\/api; Max-Age=\d+; HttpOnly; SameSite=Strict$/,
    );
    const overTls = await login(server, 'alice', 'alice-password', {
      ...freshAddress(),
      'x-forwarded-proto': 'https',
    });
    expect(overTls.headers.get('set-cookie')).toMatch(/; HttpOnly; SameSite=Strict; Secure$/);
    // A new id at every sign-in.
    expect(overTls.headers.get('set-cookie')?.split(';')[0]).not.toBe(cookie.split(';')[0]);
  });

  it('tells a signed-in app who it is signed in as, and anyone else 401', async () => {
    const session = await signIn(server, 'bob');
    const answer = await me(server, session);
    expect(answer.status).toBe(200);
    expect(v.parse(MeResponseSchema, await answer.json())).toEqual({ username: 'bob' });
    expect((await me(server, {})).status).toBe(401);
  });

  it('answers a wrong password and an unknown user with the same 401, in about the same time', async () => {
    const timings = { wrong: [] as number[], unknown: [] as number[] };
    const bodies = new Set<string>();
    for (let round = 0; round < 3; round += 1) {
      for (const [kind, name] of [
        ['wrong', 'dave'],
        ['unknown', `nobody-${round}`],
      ] as const) {
        const started = performance.now();
        const response = await login(server, name, 'not-the-password');
        timings[kind].push(performance.now() - started);
        expect(response.status).toBe(401);
        expect(response.headers.get('set-cookie')).toBeNull();
        bodies.add(await response.text());
      }
    }
    expect([...bodies]).toEqual([
      '{"error":{"code":"invalid_credentials","message":"Wrong username or password"}}',
    ]);
    const median = (values: number[]) => [...values].sort((a, b) => a - b)[1] ?? 0;
    // Without the dummy hash an unknown name would answer ~100 times faster than a wrong password (no KDF).
    expect(median(timings.unknown)).toBeGreaterThan(median(timings.wrong) / 3);
    expect(median(timings.unknown)).toBeLessThan(median(timings.wrong) * 3);
  }, 30_000);

  it('refuses the sixth failed sign-in for a name within a minute with 429 and Retry-After', async () => {
    for (let attempt = 1; attempt <= 5; attempt += 1) {
      expect((await login(server, 'erin', 'wrong')).status).toBe(401);
    }
    const sixth = await login(server, 'erin', 'erin-password');
    expect(sixth.status).toBe(429);
    expect((await errorOf(sixth)).code).toBe('rate_limited');
    const retryAfter = Number(sixth.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
  }, 30_000);

  it('ends the session at logout', async () => {
    const session = await signIn(server, 'bob');
    const out = await fetch(`${server.origin}/api/auth/logout`, { method: 'POST', headers: session });
    expect(out.status).toBe(204);
    expect(out.headers.get('set-cookie')).toMatch(/^outpost_session=; Path=\/api; Max-Age=0;/);
    expect((await me(server, session)).status).toBe(401);
    expect((await pull(server, ids(), session)).status).toBe(401);
  });

  it('ends a session left unused for its lifetime (SESSION_TTL=2s)', async () => {
    const session = await signIn(shortLived, 'alice');
    expect((await pull(shortLived, ids(), session)).status).toBe(200);
    await new Promise((wait) => setTimeout(wait, 2_300));
    const expired = await pull(shortLived, ids(), session);
    expect(expired.status).toBe(401);
    expect((await errorOf(expired)).code).toBe('unauthorized');
  }, 15_000);
});

describe('AUTH=users over HTTP: each user only their own orders', () => {
  it("never gives alice bob's decisions, whatever clientId she names", async () => {
    const alice = await signIn(server, 'alice');
    const bob = await signIn(server, 'bob');
    const aliceClient = ids();
    const bobClient = ids();
    const mine = placedOrder(aliceClient);
    const theirs = placedOrder(bobClient);
    expect((await push(server, aliceClient, mine.events, alice)).status).toBe(200);
    expect((await push(server, bobClient, theirs.events, bob)).status).toBe(200);

    for (const clientId of [aliceClient, bobClient, ids()]) {
      const answer = v.parse(PullResponseSchema, await (await pull(server, clientId, alice)).json());
      expect(answer.serverEvents.map((event) => event.streamId)).not.toContain(theirs.order.streamId);
    }
    const own = v.parse(PullResponseSchema, await (await pull(server, aliceClient, alice)).json());
    expect(own.serverEvents.map((event) => event.streamId)).toEqual([mine.order.streamId]);
    const bobs = v.parse(PullResponseSchema, await (await pull(server, bobClient, bob)).json());
    expect(bobs.serverEvents.map((event) => event.streamId)).toEqual([theirs.order.streamId]);
  });

  it("refuses bob's push with alice's clientId with 403", async () => {
    const alice = await signIn(server, 'alice');
    const bob = await signIn(server, 'bob');
    const clientId = ids();
    expect((await push(server, clientId, placedOrder(clientId).events, alice)).status).toBe(200);
    const refused = await push(server, clientId, placedOrder(clientId).events, bob);
    expect(refused.status).toBe(403);
    expect((await errorOf(refused)).code).toBe('client_id_taken');
  });

  it("rejects bob's events on alice's stream with forbidden, and stores none of them", async () => {
    const alice = await signIn(server, 'alice');
    const bob = await signIn(server, 'bob');
    const order = new OrderStreamBuilder(ids, ids());
    expect((await push(server, order.clientId, [order.created()], alice)).status).toBe(200);
    const appended = [order.added('WIDGET-1', 1, 100), order.placed(100, 1)];
    const answer = v.parse(PushResponseSchema, await (await push(server, ids(), appended, bob)).json());
    expect(answer.results.map(({ status, code }) => `${status}/${code}`)).toEqual([
      'rejected/forbidden',
      'retry/blocked',
    ]);
    expect(answer.serverEvents).toEqual([]);
    // Nothing stored: alice's own next event still gets version 2.
    const next = v.parse(
      PushResponseSchema,
      await (await push(server, order.clientId, [appended[0] as WireClientEvent], alice)).json(),
    );
    expect(next.results[0]?.status).toBe('accepted');
  });

  it('refuses a POST from a foreign Origin with 403, even with a valid session', async () => {
    const alice = await signIn(server, 'alice');
    const clientId = ids();
    const foreign = await push(server, clientId, placedOrder(clientId).events, {
      ...alice,
      origin: 'https://evil.example.net',
    });
    expect(foreign.status).toBe(403);
    expect((await errorOf(foreign)).code).toBe('forbidden_origin');
    const crossSiteLogin = await login(server, 'alice', 'alice-password', {
      ...freshAddress(),
      origin: 'https://evil.example.net',
    });
    expect(crossSiteLogin.status).toBe(403);
    expect(crossSiteLogin.headers.get('set-cookie')).toBeNull();
    const sameSite = await push(server, clientId, placedOrder(clientId).events, {
      ...alice,
      origin: server.origin,
    });
    expect(sameSite.status).toBe(200);
  });
});

describe('AUTH=users over HTTP: device tokens', () => {
  it("accepts a user's device token as a bearer token, and stops accepting it once the user is removed", async () => {
    const carolToken = (await runUserCommand(dataDir, ['token', 'carol'])).stdout.trim();
    const bearer = { authorization: `Bearer ${carolToken}` };
    const clientId = ids();
    const { events } = placedOrder(clientId);
    const answer = v.parse(PushResponseSchema, await (await push(server, clientId, events, bearer)).json());
    expect(answer.results.map((result) => result.status)).toEqual(['accepted', 'accepted', 'accepted']);
    expect((await me(server, bearer)).status).toBe(200);

    // Removed while the server runs: the next request is refused, no restart needed.
    const removed = await runUserCommand(dataDir, ['remove', 'carol']);
    expect(removed.code).toBe(0);
    expect((await pull(server, clientId, bearer)).status).toBe(401);
    expect((await push(server, clientId, placedOrder(clientId).events, bearer)).status).toBe(401);
  });

  it('lets a machine client with a device token push and pull, as alice', async () => {
    const bearer = { authorization: `Bearer ${aliceToken}` };
    expect(v.parse(MeResponseSchema, await (await me(server, bearer)).json())).toEqual({ username: 'alice' });
    expect((await pull(server, ids(), { authorization: 'Bearer not-a-token' })).status).toBe(401);
  });
});

describe('AUTH=none over HTTP (the default)', () => {
  it('says plainly at start that sync is open, and serves sync without credentials', async () => {
    expect(open.logs.some((line) => line.includes('"sync is open (AUTH=none)'))).toBe(true);
    const clientId = ids();
    expect((await push(open, clientId, placedOrder(clientId).events, {})).status).toBe(200);
    expect((await pull(open, clientId, {})).status).toBe(200);
  });

  it('has no sign-in routes, and still refuses a POST from a foreign Origin', async () => {
    const answer = await me(open, {});
    expect(answer.status).toBe(404);
    expect((await errorOf(answer)).code).toBe('not_found');
    const clientId = ids();
    const foreign = await push(open, clientId, placedOrder(clientId).events, {
      origin: 'https://evil.example.net',
    });
    expect(foreign.status).toBe(403);
  });
});
