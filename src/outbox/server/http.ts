import * as v from 'valibot';
import type { Clock, IdGenerator } from '../ids';
import {
  MAX_BATCH_BYTES,
  MAX_BATCH_EVENTS,
  PROTOCOL_VERSION,
  PushRequestEnvelopeSchema,
} from '../protocol/messages';
import type { AnyServerStreamType } from '../stream-type';
import type { StreamTypes } from '../stream-types';
import { openAccess, type Principal, type SyncAccess, sharedTokenAccess } from './access';
import { createFeedRoutes, FEED_METHODS, type FeedRoute, feedRouteOf } from './feed';
import { createFeedSignal, type FeedSignal } from './feed-signal';
import type { FeedStorage } from './feed-storage';
import { errorResponse, foreignOrigin, jsonResponse, serverFailed, unauthorized } from './http-errors';
import { handlePull } from './pull';
import { parsePullCursor } from './pull-cursor';
import { handlePush } from './push';
import { firstMessage, isJsonContentType, isRecord, readJsonBody } from './request-body';
import { type ServerStorage, StorageConflictError, StorageUnavailableError } from './storage';

/** What `createSyncHandler` serves; four are required, the rest default to a lone server open to anyone. */
export interface SyncServerOptions {
  /** The stream types this server serves, the same list the app is composed of. */
  streamTypes: StreamTypes<AnyServerStreamType>;
  /** Where pushes are stored and pulls read; out of reach it answers 503, any other failure of it 500. */
  storage: ServerStorage;
  /** The time the server's decisions see and carry, and devices register at; injected so a test fixes it. */
  clock: Clock;
  /** Makes the ids of the events the server decides itself (a stream type's server policy). */
  ids: IdGenerator;
  /** Where the protocol lives; default '/api/sync'. */
  basePath?: string;
  /** Largest push body accepted, in bytes; default 1 MiB (the protocol's limit). */
  maxBodyBytes?: number;
  /**
   * Who may sync, and for whom a request acts (`access.ts`). Default: anyone, unscoped; or, with `token`,
   * anyone who sends `Authorization: Bearer <token>`. Health never asks.
   */
  access?: SyncAccess;
  /** Shorthand for `access: sharedTokenAccess(token)` (the mock backend's option). */
  token?: string | null;
  /** Refuses a browser's request from another site with 403 (`createOriginCheck`); off by default. */
  isForeignOrigin?: (request: Request) => boolean;
  /**
   * The feed extension's storage (docs/protocol.md, "The feed"): every device's events by cursor, a new
   * device's history, the live channel and the device routes. Without it the server speaks protocol v1 only
   * and those routes answer 404.
   */
  feed?: FeedStorage | null;
  /** The live channel's signal; one is made from `feed` when absent (give one to close it at shutdown). */
  feedSignal?: FeedSignal;
  /**
   * With users: every signed-in user sees and may change every stream, as one shop (`STREAM_SHARING=shop`);
   * otherwise each user sees and changes only the streams they created. Streams keep their creator either way.
   */
  shareStreams?: boolean;
  /** Whether a cookie set on this request may be marked Secure; by default when it came over HTTPS. */
  secureCookie?: (request: Request) => boolean;
  /**
   * Figures other parts of the server add to `GET …/stats` beside the storage's (the server outbox, its
   * consumers' lag): merged into the answer.
   */
  moreStats?: () => Promise<Readonly<Record<string, unknown>>>;
}

/** Answers every request, never rejects: a path outside `basePath` is a 404, so it can sit behind routes. */
export type SyncHandler = (request: Request) => Promise<Response>;

type Route = 'push' | 'pull' | 'health' | 'stats' | FeedRoute;
const METHODS: Record<Route, string> = {
  push: 'POST',
  pull: 'GET',
  health: 'GET',
  stats: 'GET',
  ...FEED_METHODS,
};

const CursorSchema = v.pipe(
  v.string(),
  v.rawTransform(({ dataset, addIssue, NEVER }) => {
    const cursor = parsePullCursor(dataset.value);
    if (cursor !== null) return cursor;
    addIssue({ message: 'since is the cursor of an earlier pull, exactly as it was answered' });
    return NEVER;
  }),
);
const PullQuerySchema = v.object({
  clientId: v.pipe(v.string('clientId is required'), v.uuid('clientId must be a UUID')),
  since: v.optional(CursorSchema, '0'),
});

/** How long a client waits before trying again when the database is out of reach (a restart takes seconds). */
export const UNAVAILABLE_RETRY_AFTER_SECONDS = 2;

/**
 * Protocol v1's server over web-standard Request/Response, so the same code answers inside the Node
 * reference server, the MSW mock and a service worker. Bad input always gets a 4xx with an error body and
 * writes nothing; a 500 only means the storage itself failed.
 */
export function createSyncHandler(options: SyncServerOptions): SyncHandler {
  const base = (options.basePath ?? '/api/sync').replace(/\/+$/, '');
  const maxBodyBytes = options.maxBodyBytes ?? MAX_BATCH_BYTES;
  const access = options.access ?? (options.token ? sharedTokenAccess(options.token) : openAccess);
  const isForeignOrigin = options.isForeignOrigin ?? (() => false);
  const deps = {
    streamTypes: options.streamTypes,
    storage: options.storage,
    clock: options.clock,
    ids: options.ids,
    shared: options.shareStreams === true,
  };
  const feed = options.feed ?? null;
  const feedSignal = feed ? (options.feedSignal ?? createFeedSignal({ feed })) : null;
  const feedRoutes =
    feed && feedSignal
      ? createFeedRoutes({
          feed,
          signal: feedSignal,
          shared: deps.shared,
          now: () => options.clock.now(),
          secureCookie: options.secureCookie ?? ((request) => new URL(request.url).protocol === 'https:'),
        })
      : null;

  return async (request) => {
    const route = routeOf(new URL(request.url).pathname, base, feedRoutes !== null);
    if (route === null)
      return errorResponse(404, 'not_found', `No sync route at ${new URL(request.url).pathname}`);
    if (isForeignOrigin(request)) return foreignOrigin();
    try {
      let principal: Principal = { owner: null };
      if (route !== 'health') {
        const identified = await access.identify(request);
        if (identified === null) return unauthorized();
        principal = identified;
      }
      const method = METHODS[route];
      if (request.method !== method) {
        return errorResponse(405, 'method_not_allowed', `${route} accepts ${method} only`, { allow: method });
      }
      switch (route) {
        case 'health':
          // Not 200 while the database is out of reach, so a load balancer sends requests elsewhere.
          await deps.storage.check();
          return jsonResponse(200, { status: 'ok' });
        case 'stats':
          return jsonResponse(200, {
            ...(await deps.storage.read((reader) => reader.stats())),
            ...(await options.moreStats?.()),
          });
        case 'pull':
          return await pull(request, principal);
        case 'push':
          return await push(request, principal);
        case 'feed':
        case 'history':
        case 'live':
        case 'device':
          if (!feedRoutes) return errorResponse(404, 'not_found', 'This server has no feed');
          return await feedRoutes(route, request, principal);
        default: {
          const unknownRoute: never = route;
          return unknownRoute;
        }
      }
    } catch (error) {
      // Only the storages can fail here; the client resends and step 1 of a push makes that safe.
      if (error instanceof StorageUnavailableError) return unavailable(error.message);
      // A batch that lost every race it retried (many copies of it at once): busy, not broken.
      if (error instanceof StorageConflictError) return unavailable('The batch kept racing other writers');
      return serverFailed(error);
    }
  };

  async function pull(request: Request, principal: Principal): Promise<Response> {
    const params = new URL(request.url).searchParams;
    const query = v.safeParse(PullQuerySchema, {
      clientId: params.get('clientId') ?? undefined,
      since: params.get('since') ?? undefined,
    });
    if (!query.success) return errorResponse(400, 'invalid_query', firstMessage(query.issues));
    const { clientId, since } = query.output;
    // A shop that shares its streams: a device's pulls cover every stream it pushed, whoever created it.
    const scope = deps.shared ? null : principal.owner;
    return jsonResponse(200, await handlePull(deps.storage, clientId, since, scope));
  }

  async function push(request: Request, principal: Principal): Promise<Response> {
    if (!isJsonContentType(request.headers.get('content-type'))) {
      return errorResponse(415, 'unsupported_media_type', 'A push is sent as Content-Type: application/json');
    }
    const declared = Number(request.headers.get('content-length') ?? Number.NaN);
    if (declared > maxBodyBytes) return tooLarge(`The body is ${declared} bytes; at most ${maxBodyBytes}`);
    const read = await readJsonBody(request, maxBodyBytes);
    if (!read.ok) {
      if (read.problem === 'too_large') return tooLarge(`The body is over ${maxBodyBytes} bytes`);
      if (read.problem === 'unreadable') {
        return errorResponse(400, 'malformed_json', 'The body could not be read to its end');
      }
      return errorResponse(400, 'malformed_json', 'The body is not JSON in UTF-8');
    }
    const body = read.value;
    if (isRecord(body) && Array.isArray(body.events) && body.events.length > MAX_BATCH_EVENTS) {
      return tooLarge(`The batch has ${body.events.length} events; at most ${MAX_BATCH_EVENTS}`);
    }
    if (isRecord(body) && 'protocol' in body && body.protocol !== PROTOCOL_VERSION) {
      return errorResponse(
        400,
        'unsupported_protocol',
        `This server speaks protocol ${PROTOCOL_VERSION}, not ${JSON.stringify(body.protocol)}`,
      );
    }
    const envelope = v.safeParse(PushRequestEnvelopeSchema, body);
    if (!envelope.success) return errorResponse(400, 'invalid_envelope', firstMessage(envelope.issues));
    const answer = await handlePush(deps, envelope.output, principal.owner);
    if (answer !== 'client_id_taken' && answer.results.some((result) => result.status === 'accepted')) {
      // Devices listening to this instance read the feed now rather than at the next poll.
      feedSignal?.nudge();
    }
    if (answer === 'client_id_taken') {
      return errorResponse(
        403,
        'client_id_taken',
        'This clientId belongs to another user: each user pushes with a clientId of their own',
      );
    }
    return jsonResponse(200, answer);
  }
}

function unavailable(cause: string): Response {
  return errorResponse(
    503,
    'unavailable',
    `The server cannot store or read right now (${cause}); try again`,
    {
      'retry-after': String(UNAVAILABLE_RETRY_AFTER_SECONDS),
    },
  );
}

function tooLarge(message: string): Response {
  return errorResponse(413, 'payload_too_large', `${message}: split the batch and resend`);
}

function routeOf(pathname: string, base: string, withFeed: boolean): Route | null {
  if (!pathname.startsWith(`${base}/`)) return null;
  const rest = pathname.slice(base.length + 1).replace(/\/$/, '');
  if (rest === 'push' || rest === 'pull' || rest === 'health' || rest === 'stats') return rest;
  return withFeed ? feedRouteOf(rest) : null;
}
