import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ManualClock, uuidv7Generator } from '../../src/outbox/ids';
import { createMemoryStorage } from '../../src/outbox/server/memory-storage';
import { type ServerStorage, StorageUnavailableError } from '../../src/outbox/server/storage';
import { createApp } from '../../src/server/node/app';
import { ConfigError, parseConfig } from '../../src/server/node/config';
import type { LogRecord } from '../../src/server/node/log';
import { runServerExpectingExit, stopAllServers, tempDir } from './support/server-process';

const temp = tempDir('app');
afterAll(async () => {
  await stopAllServers();
  temp.remove();
});

function app(options: { corsOrigin?: string[]; storage?: ServerStorage; logs?: LogRecord[] } = {}) {
  const clock = new ManualClock();
  return createApp({
    storage: options.storage ?? createMemoryStorage(),
    clock,
    ids: uuidv7Generator(clock),
    distDir: null,
    corsOrigin: options.corsOrigin ?? null,
    logger: (record) => options.logs?.push(record),
  });
}

describe('server app: CORS for a front end hosted elsewhere', () => {
  const preflight = (origin: string) =>
    new Request('http://outpost.test/api/sync/push', {
      method: 'OPTIONS',
      headers: {
        origin,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type,authorization,idempotency-key',
      },
    });

  it('lets a configured origin send pushes with a token and read the request id', async () => {
    const server = app({ corsOrigin: ['https://orders.example.com'] });
    const answer = await server.request(preflight('https://orders.example.com'));
    expect(answer.status).toBe(204);
    expect(answer.headers.get('access-control-allow-origin')).toBe('https://orders.example.com');
    expect(answer.headers.get('access-control-allow-methods')).toContain('POST');
    expect(answer.headers.get('access-control-allow-headers')?.toLowerCase()).toContain('authorization');

    const health = await server.request('http://outpost.test/api/sync/health', {
      headers: { origin: 'https://orders.example.com' },
    });
    expect(health.headers.get('access-control-allow-origin')).toBe('https://orders.example.com');
    expect(health.headers.get('access-control-expose-headers')).toContain('X-Request-Id');
  });

  it('gives any other origin nothing to go on', async () => {
    const server = app({ corsOrigin: ['https://orders.example.com'] });
    const answer = await server.request(preflight('https://evil.example.net'));
    expect(answer.headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe('server app: failures', () => {
  it('answers a storage failure with 500 and an error body, and logs it as an error', async () => {
    const broken: ServerStorage = {
      transaction: () => Promise.reject(new Error('disk I/O error')),
      read: () => Promise.reject(new Error('disk I/O error')),
      check: () => Promise.resolve(),
      close: () => Promise.resolve(),
    };
    const logs: LogRecord[] = [];
    const response = await app({ storage: broken, logs }).request('http://outpost.test/api/sync/stats');
    expect(response.status).toBe(500);
    expect(await response.json()).toEqual({ error: { code: 'internal', message: expect.any(String) } });
    expect(logs).toEqual([
      expect.objectContaining({ level: 'error', msg: 'request', status: 500, path: '/api/sync/stats' }),
    ]);
  });
});

describe('server app: database out of reach', () => {
  const unreachable: ServerStorage = {
    transaction: () => Promise.reject(new StorageUnavailableError('connect ECONNREFUSED 127.0.0.1:5432')),
    read: () => Promise.reject(new StorageUnavailableError('connect ECONNREFUSED 127.0.0.1:5432')),
    check: () => Promise.reject(new StorageUnavailableError('connect ECONNREFUSED 127.0.0.1:5432')),
    close: () => Promise.resolve(),
  };

  it('answers push, pull and stats with 503 and Retry-After, which the client backs off on', async () => {
    const server = app({ storage: unreachable });
    const clientId = '0193a000-0000-7000-8000-000000000001';
    const requests = [
      new Request('http://outpost.test/api/sync/push', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ protocol: 1, clientId, batchId: clientId, events: [{}] }),
      }),
      new Request(`http://outpost.test/api/sync/pull?clientId=${clientId}`),
      new Request('http://outpost.test/api/sync/stats'),
    ];
    for (const request of requests) {
      const response = await server.request(request);
      expect(response.status).toBe(503);
      expect(response.headers.get('retry-after')).toBe('2');
      expect(await response.json()).toEqual({ error: { code: 'unavailable', message: expect.any(String) } });
    }
  });

  it('answers health with 503, so a load balancer stops sending requests to this instance', async () => {
    const response = await app({ storage: unreachable }).request('http://outpost.test/api/sync/health');
    expect(response.status).toBe(503);
    expect(response.headers.get('retry-after')).toBe('2');
  });
});

describe('server settings', () => {
  it('takes PostgreSQL from DATABASE_URL with its pool and timeouts, and refuses anything else', () => {
    const config = parseConfig(
      { DATABASE_URL: 'postgres://outpost:secret@db.internal:5432/outpost', DATABASE_POOL_SIZE: '20' },
      '/srv/outpost',
    );
    expect(config.database).toEqual({
      url: 'postgres://outpost:secret@db.internal:5432/outpost',
      poolSize: 20,
      statementTimeoutMs: 10_000,
      transactionTimeoutMs: 15_000,
      openTransactionWarnMs: 5_000,
    });
    expect(() => parseConfig({ DATABASE_URL: 'mysql://db/outpost' }, '/srv')).toThrow(ConfigError);
    expect(() => parseConfig({ DATABASE_URL: 'postgres://db/x', DATABASE_POOL_SIZE: '0' }, '/srv')).toThrow(
      ConfigError,
    );
  });

  it('defaults to 127.0.0.1:8080, ./data and ./dist, open sync (AUTH=none), no proxy, no CORS', () => {
    expect(parseConfig({}, '/srv/outpost')).toEqual({
      port: 8080,
      host: '127.0.0.1',
      dataDir: '/srv/outpost/data',
      database: null,
      distDir: '/srv/outpost/dist',
      auth: 'none',
      sessionTtlMs: 30 * 24 * 3600 * 1000,
      cookieSecure: false,
      trustProxyHops: 0,
      corsOrigins: null,
      maxBodyBytes: 1024 * 1024,
      shutdownGraceMs: 10_000,
      streamSharing: 'user',
      feedPollMs: 1_000,
    });
  });

  it('reads every setting, treating blank as unset', () => {
    const config = parseConfig(
      {
        PORT: '9000',
        HOST: '0.0.0.0',
        DATA_DIR: '/var/lib/outpost',
        DIST_DIR: 'none',
        AUTH: 'users',
        SESSION_TTL: '12h',
        COOKIE_SECURE: '1',
        TRUST_PROXY: '1',
        CORS_ORIGIN: 'https://a.example.com, http://localhost:5173',
        SHUTDOWN_GRACE_MS: ' ',
        STREAM_SHARING: 'shop',
        FEED_POLL_MS: '250',
      },
      '/srv/outpost',
    );
    expect(config).toMatchObject({
      port: 9000,
      host: '0.0.0.0',
      dataDir: '/var/lib/outpost',
      distDir: null,
      auth: 'users',
      sessionTtlMs: 12 * 3600 * 1000,
      cookieSecure: true,
      trustProxyHops: 1,
      corsOrigins: ['https://a.example.com', 'http://localhost:5173'],
      shutdownGraceMs: 10_000,
      streamSharing: 'shop',
      feedPollMs: 250,
    });
  });

  it('lists every bad value at once', () => {
    const attempt = () =>
      parseConfig(
        {
          PORT: '80a',
          AUTH: 'token',
          SESSION_TTL: '30',
          COOKIE_SECURE: 'yes',
          TRUST_PROXY: 'true',
          CORS_ORIGIN: 'example.com/app',
          STREAM_SHARING: 'everyone',
        },
        '/srv/outpost',
      );
    expect(attempt).toThrow(ConfigError);
    expect(attempt).toThrow(
      /PORT.*whole number[\s\S]*AUTH is none or users[\s\S]*SESSION_TTL is a whole number and a unit[\s\S]*COOKIE_SECURE is 0 or 1[\s\S]*TRUST_PROXY[\s\S]*CORS_ORIGIN[\s\S]*STREAM_SHARING is user or shop/,
    );
    expect(() => parseConfig({ SESSION_TTL: '401d' }, '/srv')).toThrow(/at most 400d/);
  });

  it('refuses to start with SYNC_TOKEN, which was retired, and says what replaces it', () => {
    expect(() => parseConfig({ SYNC_TOKEN: 'a-long-enough-secret-token' }, '/srv/outpost')).toThrow(
      /SYNC_TOKEN is retired: set AUTH=users.*npm run user -- add.*npm run user -- token/,
    );
  });

  it('stops the real server with exit code 1 and a readable message on a bad setting', async () => {
    const { code, stderr } = await runServerExpectingExit({
      PORT: '70000',
      DATA_DIR: join(temp.path, 'never'),
    });
    expect(code).toBe(1);
    expect(stderr).toContain('PORT must be at most 65535');
  });
});
