import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import * as v from 'valibot';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uuidv7Generator } from '../../src/outbox/ids';
import {
  ErrorBodySchema,
  PushResponseSchema,
  type WireClientEvent,
} from '../../src/outbox/protocol/messages';
import { OrderStreamBuilder, runProtocolContract } from './protocol-contract';
import { fuzzPushBodies } from './support/fuzz';
import {
  provisionDeviceToken,
  type ServerProcess,
  startServerProcess,
  stopAllServers,
  tempDir,
  writeFakeDist,
} from './support/server-process';

const temp = tempDir('http');
const ids = uuidv7Generator();
/** The device token of the one user the contract pushes as (made with the real CLI before start). */
let TOKEN = '';

let main: Promise<ServerProcess> | undefined;
/** One AUTH=users server for the contract and the server-specific checks, started on first use. */
function mainServer(): Promise<ServerProcess> {
  if (!main) {
    const dist = join(temp.path, 'dist');
    const dataDir = join(temp.path, 'data');
    writeFakeDist(dist);
    main = provisionDeviceToken(dataDir).then((token) => {
      TOKEN = token;
      return startServerProcess({ dataDir, auth: 'users', distDir: dist });
    });
  }
  return main;
}

// Started here with a generous timeout: the contract's own hook would wait only the default 10 s, and a
// loaded machine can take longer to boot tsx.
beforeAll(async () => {
  await mainServer();
}, 60_000);

afterAll(async () => {
  await stopAllServers();
  temp.remove();
});

runProtocolContract('reference server over real HTTP', async () => {
  const server = await mainServer();
  return {
    fetch: (request) => fetch(request),
    baseUrl: server.baseUrl,
    token: TOKEN,
    cleanup: async () => undefined,
  };
});

const bearer = () => ({ authorization: `Bearer ${TOKEN}` });

/** What the server has stored, without the moment's figures (how long the oldest outbox row has waited, …). */
async function stats(server: ServerProcess): Promise<{ eventsStored: number; serverEvents: number }> {
  const response = await fetch(`${server.baseUrl}/stats`, { headers: bearer() });
  const {
    outbox,
    consumers: _lag,
    ...stored
  } = (await response.json()) as {
    eventsStored: number;
    serverEvents: number;
    outbox: { depth: number };
    consumers: unknown;
  };
  return { ...stored, outboxDepth: outbox.depth } as { eventsStored: number; serverEvents: number };
}

async function errorCode(response: Response, status: number): Promise<string> {
  expect(response.status).toBe(status);
  return v.parse(ErrorBodySchema, await response.json()).error.code;
}

function draft(clientId = ids()) {
  const order = new OrderStreamBuilder(ids, clientId);
  const events: WireClientEvent[] = [
    order.created(),
    order.added('WIDGET-1', 2, 1250),
    order.placed(2500, 1),
  ];
  return { clientId, order, events, body: JSON.stringify({ protocol: 1, clientId, batchId: ids(), events }) };
}

describe('reference server: limits', () => {
  it('counts the bytes of a chunked body sent without Content-Length and refuses it past 1 MiB', async () => {
    const server = await mainServer();
    const before = await stats(server);
    const { body } = draft();
    const padded = `${body.slice(0, -1)},"padding":"${'x'.repeat(1024 * 1024)}"}`;
    const bytes = new TextEncoder().encode(padded);
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let offset = 0; offset < bytes.length; offset += 64 * 1024) {
          controller.enqueue(bytes.slice(offset, offset + 64 * 1024));
        }
        controller.close();
      },
    });
    const response = await fetch(`${server.baseUrl}/push`, {
      method: 'POST',
      headers: { ...bearer(), 'content-type': 'application/json' },
      body: stream,
      duplex: 'half',
    } as RequestInit);
    expect(await errorCode(response, 413)).toBe('payload_too_large');
    expect(await stats(server)).toEqual(before);
  });

  it('answers malformed and random bodies with a 4xx and an error body, never a 5xx, and stores nothing', async () => {
    const server = await mainServer();
    const before = await stats(server);
    await fuzzPushBodies(server.baseUrl, bearer());
    expect(await stats(server)).toEqual(before);
  }, 30_000);
});

describe('reference server: bad input on the sign-in routes and credentials', () => {
  it('answers random requests to /api/auth and random credentials on sync with a 4xx and an error body, never a 5xx', async () => {
    const server = await mainServer();
    const before = await stats(server);
    const printable = (max: number) => fc.stringMatching(new RegExp(`^[\\x20-\\x7e]{0,${max}}$`));
    const json = fc.jsonValue({ maxDepth: 2 });
    const route = fc.constantFrom(
      '/api/auth/login',
      '/api/auth/logout',
      '/api/auth/me',
      '/api/auth/',
      '/api/auth/login/again',
      `/api/sync/pull?clientId=${ids()}`,
      '/api/sync/push',
      '/api/sync/stats',
    );
    const loginLike = fc.record(
      {
        username: fc.oneof(fc.string({ maxLength: 80 }), json),
        password: fc.oneof(fc.string({ maxLength: 80 }), json),
      },
      { requiredKeys: [] },
    );
    const body = fc.oneof(
      fc.string({ maxLength: 200 }),
      fc.uint8Array({ maxLength: 200 }).map((raw) => Buffer.from(raw).toString('latin1')),
      json.map((value) => JSON.stringify(value)),
      loginLike.map((value) => JSON.stringify(value)),
    );
    const header = (values: fc.Arbitrary<string>) => fc.option(values, { nil: undefined });
    const request = fc.record({
      route,
      method: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE'),
      body,
      contentType: header(
        fc.constantFrom('application/json', 'text/plain', 'application/x-www-form-urlencoded'),
      ),
      cookie: header(
        fc.oneof(
          printable(80),
          printable(80).map((value) => `outpost_session=${value}`),
        ),
      ),
      authorization: header(
        fc.oneof(
          printable(80),
          printable(80).map((value) => `Bearer ${value}`),
        ),
      ),
      origin: header(
        fc.oneof(fc.constant(server.origin), fc.constant('https://evil.example'), printable(40)),
      ),
    });
    await fc.assert(
      fc.asyncProperty(request, async (input) => {
        const headers: Record<string, string> = {};
        if (input.contentType !== undefined) headers['content-type'] = input.contentType;
        if (input.cookie !== undefined) headers.cookie = input.cookie;
        if (input.authorization !== undefined) headers.authorization = input.authorization;
        if (input.origin !== undefined) headers.origin = input.origin;
        const response = await fetch(`${server.origin}${input.route}`, {
          method: input.method,
          headers,
          ...(input.method === 'GET' ? {} : { body: input.body }),
        });
        expect(response.status).toBeLessThan(500);
        if (response.status === 204) {
          // Only a logout succeeds without credentials, and it sets no session.
          expect(input.route).toBe('/api/auth/logout');
          expect(response.headers.get('set-cookie')).toMatch(/^outpost_session=; /);
        } else {
          expect(response.status).toBeGreaterThanOrEqual(400);
          v.parse(ErrorBodySchema, await response.json());
        }
      }),
      { seed: 20_261_213, numRuns: 150 },
    );

    // Then sign-in bodies in earnest: well-declared JSON, mostly shaped like a login, so they reach the
    // credential check (a KDF each, until the per-address limit answers 429 without one).
    const loginBody = fc.oneof(
      { weight: 4, arbitrary: loginLike.map((value) => JSON.stringify(value)) },
      { weight: 1, arbitrary: body },
    );
    const statuses = new Set<number>();
    await fc.assert(
      fc.asyncProperty(loginBody, async (payload) => {
        const response = await fetch(`${server.origin}/api/auth/login`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: payload,
        });
        statuses.add(response.status);
        expect([400, 401, 413, 429]).toContain(response.status);
        expect(response.headers.get('set-cookie')).toBeNull();
        v.parse(ErrorBodySchema, await response.json());
      }),
      { seed: 20_261_214, numRuns: 100 },
    );
    // Both the refusal of a malformed body and the credential check were reached.
    expect(statuses).toContain(400);
    expect(statuses).toContain(401);
    expect(await stats(server)).toEqual(before);
  }, 60_000);
});

describe('reference server: static app and headers', () => {
  async function get(path: string, headers: Record<string, string> = {}): Promise<Response> {
    const server = await mainServer();
    return fetch(`${server.origin}${path}`, { headers });
  }

  it('never lets a cache keep index.html, sw.js or the manifest, so a release reaches everyone', async () => {
    for (const path of ['/', '/index.html', '/sw.js', '/manifest.webmanifest']) {
      const response = await get(path);
      expect(response.status, path).toBe(200);
      expect(response.headers.get('cache-control'), path).toBe('no-cache');
      await response.arrayBuffer();
    }
  });

  it('caches hashed assets for a year as immutable', async () => {
    const response = await get('/assets/index-3f2a1b9c.js');
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(response.headers.get('content-type')).toMatch(/javascript/);
    expect(await response.text()).toBe('console.log("app");');
  });

  /** node:http rather than fetch, which would overwrite Sec-Fetch-Mode with its own `cors`. */
  async function rawGet(path: string, headers: Record<string, string>) {
    const server = await mainServer();
    return new Promise<{ status: number; cacheControl: string | undefined; text: string }>(
      (resolve, reject) => {
        httpRequest({ host: '127.0.0.1', port: server.port, path, headers }, (res) => {
          let text = '';
          res.setEncoding('utf8').on('data', (chunk: string) => {
            text += chunk;
          });
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, cacheControl: res.headers['cache-control'], text }),
          );
        })
          .on('error', reject)
          .end();
      },
    );
  }

  it('answers a navigation to a client-side route with the app shell, but a missing asset with 404', async () => {
    const route = '/orders/0193a000-0000-7000-8000-000000000001';
    const navigations: Record<string, string>[] = [
      { 'sec-fetch-mode': 'navigate' },
      { accept: 'text/html,application/xhtml+xml' },
    ];
    for (const headers of navigations) {
      const page = await rawGet(route, headers);
      expect(page.status).toBe(200);
      expect(page.cacheControl).toBe('no-cache');
      expect(page.text).toContain('<title>Outpost</title>');
    }
    const fetched = await rawGet(route, { 'sec-fetch-mode': 'cors', accept: 'text/html' });
    expect(fetched.status).toBe(404);
    const missing = await rawGet('/assets/index-00000000.js', { 'sec-fetch-mode': 'no-cors', accept: '*/*' });
    expect(missing.status).toBe(404);
    const api = await get('/api/unknown', { accept: 'text/html' });
    expect(await errorCode(api, 404)).toBe('not_found');
  });

  it('sends no CORS headers unless CORS_ORIGIN is set', async () => {
    const server = await mainServer();
    const preflight = await fetch(`${server.baseUrl}/push`, {
      method: 'OPTIONS',
      headers: {
        origin: 'https://elsewhere.example',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type,authorization',
      },
    });
    expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
    await preflight.arrayBuffer();
    const health = await fetch(`${server.baseUrl}/health`, {
      headers: { origin: 'https://elsewhere.example' },
    });
    expect(health.headers.get('access-control-allow-origin')).toBeNull();
    await health.arrayBuffer();
  });

  it('gives every request an id, echoes a sane incoming one, and logs one JSON line per request', async () => {
    const server = await mainServer();
    const fresh = await fetch(`${server.baseUrl}/health`);
    const generated = fresh.headers.get('x-request-id');
    expect(generated).toMatch(/^[0-9a-f-]{36}$/);
    await fresh.arrayBuffer();

    const echoed = await fetch(`${server.baseUrl}/stats`, { headers: { 'x-request-id': 'trace-42' } });
    expect(echoed.headers.get('x-request-id')).toBe('trace-42');
    expect(echoed.status).toBe(401);
    await echoed.arrayBuffer();
    const hostile = await fetch(`${server.baseUrl}/health`, { headers: { 'x-request-id': 'a b"c' } });
    expect(hostile.headers.get('x-request-id')).not.toBe('a b"c');
    await hostile.arrayBuffer();

    await expect.poll(() => server.logs.some((line) => line.includes('"trace-42"'))).toBe(true);
    const line = JSON.parse(server.logs.find((entry) => entry.includes('"trace-42"')) ?? '{}');
    expect(line).toEqual({
      time: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T/),
      level: 'warn',
      msg: 'request',
      requestId: 'trace-42',
      method: 'GET',
      path: '/api/sync/stats',
      status: 401,
      ms: expect.any(Number),
    });
  });
});

describe('reference server: shutdown', () => {
  it('on SIGTERM finishes the push in flight, stores it, refuses new connections and exits 0', async () => {
    const dataDir = join(temp.path, 'shutdown-data');
    const token = await provisionDeviceToken(dataDir);
    const server = await startServerProcess({ dataDir, auth: 'users' });
    const clientId = ids();
    const order = new OrderStreamBuilder(ids, clientId);
    const events: WireClientEvent[] = [order.created()];
    while (events.length < 400) events.push(order.added(`SKU-${events.length}`, 1, 100));
    const body = JSON.stringify({ protocol: 1, clientId, batchId: ids(), events });
    const half = Math.floor(body.length / 2);

    // Half the body goes out, then SIGTERM, then the rest: the push is provably in flight at the signal.
    const answer = new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = httpRequest(
        {
          host: '127.0.0.1',
          port: server.port,
          path: '/api/sync/push',
          method: 'POST',
          headers: {
            authorization: `Bearer ${token}`,
            'content-type': 'application/json',
            'transfer-encoding': 'chunked',
          },
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8').on('data', (chunk: string) => {
            text += chunk;
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        },
      );
      req.on('error', reject);
      req.write(body.slice(0, half), () => {
        server.child.kill('SIGTERM');
        const finish = setInterval(() => {
          if (server.logs.some((line) => line.includes('"shutting down"'))) {
            clearInterval(finish);
            req.end(body.slice(half));
          }
        }, 10);
      });
    });

    const { status, text } = await answer;
    expect(status).toBe(200);
    const results = v.parse(PushResponseSchema, JSON.parse(text)).results;
    expect(new Set(results.map((result) => result.status))).toEqual(new Set(['accepted']));
    await expect(fetch(`${server.baseUrl}/health`)).rejects.toThrow();
    expect(await server.exited).toEqual({ code: 0, signal: null });

    const db = new Database(join(dataDir, 'outpost.sqlite'), { readonly: true });
    const stored = db
      .prepare('SELECT COUNT(*) AS n FROM client_events WHERE stream_id = ?')
      .get(order.streamId);
    db.close();
    expect(stored).toEqual({ n: 400 });
  }, 30_000);
});
