import { existsSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import type { HttpBindings } from '@hono/node-server';
import { serveStatic } from '@hono/node-server/serve-static';
import { type Context, Hono } from 'hono';
import { cors } from 'hono/cors';
import type { Clock, IdGenerator } from '../../outbox/ids';
import { MAX_BATCH_BYTES } from '../../outbox/protocol/messages';
import {
  type AnalyticsSummary,
  type Connection,
  createAuthHandler,
  createOriginCheck,
  createSyncHandler,
  directConnection,
  errorResponse,
  type FeedSignal,
  type FeedStorage,
  type Peer,
  type ServerStorage,
  type UserAccess,
} from '../../outbox/server';
import type { AnyServerStreamType } from '../../outbox/stream-type';
import type { StreamTypes } from '../../outbox/stream-types';
import { serverStreamTypes } from '../../server-plugins';
import { type Logger, silentLogger } from './log';

export const SYNC_BASE_PATH = '/api/sync';
export const AUTH_BASE_PATH = '/api/auth';
export const ANALYTICS_SUMMARY_PATH = '/api/analytics/summary';

export interface AppOptions {
  /** The stream types it serves; the app's list by default. */
  readonly streamTypes?: StreamTypes<AnyServerStreamType>;
  readonly storage: ServerStorage;
  readonly clock: Clock;
  readonly ids: IdGenerator;
  /** Built PWA to serve; `null` or a folder without index.html serves only the API. */
  readonly distDir?: string | null;
  /**
   * `AUTH=users`: sign-in routes under /api/auth, and sync needs a session or a device token. `null`
   * (`AUTH=none`): sync is open and /api/auth does not exist.
   */
  readonly users?: {
    readonly access: UserAccess;
    /** COOKIE_SECURE=1: Secure on every answer, not only over HTTPS. */
    readonly alwaysSecureCookie?: boolean;
  } | null;
  /** How far to believe forwarded headers (TRUST_PROXY); directly connected clients by default. */
  readonly connection?: Connection;
  /** Origin(s) allowed to call the API cross-origin; `null` sends no CORS headers at all. */
  readonly corsOrigin?: string | readonly string[] | null;
  readonly maxBodyBytes?: number;
  readonly logger?: Logger;
  /** The feed extension (docs/protocol.md, "The feed"); without it the server speaks protocol v1 only. */
  readonly feed?: FeedStorage | null;
  /** Its live channel's signal, closed by the server at shutdown. */
  readonly feedSignal?: FeedSignal;
  /** STREAM_SHARING=shop: every signed-in user sees and changes every stream. */
  readonly shareStreams?: boolean;
  /** `GET /api/sync/stats` figures beside the storage's: the server outbox and its consumers. */
  readonly moreStats?: () => Promise<Readonly<Record<string, unknown>>>;
  /** `GET /api/analytics/summary`: the analytics service's read model for one owner, or everybody (null). */
  readonly analytics?: ((owner: string | null) => Promise<AnalyticsSummary>) | null;
}

export interface AppEnv {
  // Absent when a test calls `app.request()` without a socket.
  Bindings: Partial<HttpBindings>;
  Variables: { requestId: string };
}

/** Hashed by Vite, so a name is never reused for other bytes: cache for a year, never revalidate. */
const IMMUTABLE = 'public, max-age=31536000, immutable';
/** Everything else (sw.js, index.html, manifest.webmanifest, icons) keeps its name across releases: revalidate. */
const REVALIDATE = 'no-cache';

const REQUEST_ID_HEADER = 'X-Request-Id';
const INCOMING_ID = /^[\w\-=.]{1,128}$/;

/**
 * The reference server as a Hono app: protocol v1 under /api/sync through the same handler as the mock
 * (src/outbox/server), and the built PWA with caching that lets a new release reach people.
 */
export function createApp(options: AppOptions): Hono<AppEnv> {
  const log = options.logger ?? silentLogger;
  const { clock } = options;
  const app = new Hono<AppEnv>();
  const origins = options.corsOrigin ?? null;
  const corsList = origins === null ? [] : typeof origins === 'string' ? [origins] : [...origins];
  const connection = options.connection ?? directConnection;
  // In every auth mode: a browser on another site must not be able to push orders into this one.
  const isForeignOrigin = createOriginCheck(connection, corsList);
  const users = options.users ?? null;
  const sync = createSyncHandler({
    streamTypes: options.streamTypes ?? serverStreamTypes,
    storage: options.storage,
    clock,
    ids: options.ids,
    basePath: SYNC_BASE_PATH,
    maxBodyBytes: options.maxBodyBytes ?? MAX_BATCH_BYTES,
    ...(users ? { access: users.access } : {}),
    isForeignOrigin,
    feed: options.feed ?? null,
    ...(options.feedSignal ? { feedSignal: options.feedSignal } : {}),
    shareStreams: options.shareStreams === true,
    secureCookie: (request) =>
      users?.alwaysSecureCookie === true || connection.publicOrigin(request).startsWith('https:'),
    ...(options.moreStats ? { moreStats: options.moreStats } : {}),
  });
  const auth =
    users &&
    createAuthHandler({
      access: users.access,
      basePath: AUTH_BASE_PATH,
      cookiePath: '/api',
      connection,
      secureCookie: users.alwaysSecureCookie ? 'always' : 'https',
      isForeignOrigin,
    });

  // Outermost, so the line is written and the id echoed whatever happens inside, errors included.
  app.use('*', async (c, next) => {
    const started = clock.now();
    const incoming = c.req.header(REQUEST_ID_HEADER);
    const requestId = incoming !== undefined && INCOMING_ID.test(incoming) ? incoming : options.ids();
    c.set('requestId', requestId);
    await next();
    c.res.headers.set(REQUEST_ID_HEADER, requestId);
    const status = c.res.status;
    log({
      level: status >= 500 ? 'error' : status >= 400 ? 'warn' : 'info',
      msg: 'request',
      requestId,
      method: c.req.method,
      path: c.req.path,
      status,
      ms: clock.now() - started,
    });
  });

  if (origins !== null) {
    const anyOrigin = corsList.includes('*');
    app.use(
      '/api/*',
      cors({
        origin: anyOrigin ? '*' : corsList,
        allowMethods: ['GET', 'POST', 'OPTIONS'],
        allowHeaders: ['Content-Type', 'Authorization', 'Idempotency-Key', REQUEST_ID_HEADER],
        exposeHeaders: [REQUEST_ID_HEADER, 'Retry-After'],
        // A front end on a listed origin signs in with the cookie; browsers never send one to `*`.
        credentials: !anyOrigin,
        maxAge: 600,
      }),
    );
  }

  const peerOf = (c: Context<AppEnv>): Peer => ({
    remoteAddress: c.env?.incoming?.socket.remoteAddress ?? null,
  });
  // The core handlers do their own routing, limits (streamed byte count), auth and error bodies.
  app.all(`${SYNC_BASE_PATH}/*`, (c) => sync(c.req.raw));
  if (auth) app.all(`${AUTH_BASE_PATH}/*`, (c) => auth(c.req.raw, peerOf(c)));
  const analytics = options.analytics ?? null;
  if (analytics) {
    // Scoped as the feed is: under AUTH=users a user sees the figures of the streams they own, nobody else's,
    // unless the shop shares its streams (STREAM_SHARING=shop), when every signed-in user sees the shop's.
    app.get(ANALYTICS_SUMMARY_PATH, async (c) => {
      const principal = users ? await users.access.identify(c.req.raw) : { owner: null };
      if (principal === null)
        return errorResponse(401, 'unauthorized', 'Sign in to read the analytics', {
          'www-authenticate': 'Bearer',
        });
      return c.json(await analytics(options.shareStreams === true ? null : principal.owner));
    });
  }
  app.all('/api/*', (c) => errorResponse(404, 'not_found', `No API route at ${c.req.path}`));

  const dist = options.distDir ?? null;
  if (dist !== null && existsSync(join(dist, 'index.html'))) {
    const cacheByPath = (path: string, c: Context<AppEnv>): void => {
      const inDist = relative(dist, path).split(sep).join('/');
      c.header('Cache-Control', inDist.startsWith('assets/') ? IMMUTABLE : REVALIDATE);
      c.header('X-Content-Type-Options', 'nosniff');
    };
    app.use('*', serveStatic<AppEnv>({ root: dist, onFound: cacheByPath }));
    // Client-side routes (/orders/42) load the app shell; a missing file (/assets/gone.js) stays a 404, or a
    // browser would cache index.html under a script's name.
    const shell = serveStatic<AppEnv>({ path: join(dist, 'index.html'), onFound: cacheByPath });
    app.get('*', (c, next) => (isNavigation(c) ? shell(c, next) : next()));
  } else if (dist !== null) {
    log({ level: 'warn', msg: 'no built app; serving the API only', distDir: dist });
  }

  app.notFound((c) => c.text('Not found', 404));
  app.onError((error, c) => {
    log({
      level: 'error',
      msg: 'unhandled error',
      requestId: c.get('requestId') ?? null,
      error: error instanceof Error ? error.message : String(error),
    });
    return errorResponse(500, 'internal', 'The server failed');
  });
  return app;
}

function isNavigation(c: Context<AppEnv>): boolean {
  const mode = c.req.header('sec-fetch-mode');
  if (mode !== undefined) return mode === 'navigate';
  const last = c.req.path.split('/').pop() ?? '';
  return !last.includes('.') && (c.req.header('accept') ?? '').includes('text/html');
}
