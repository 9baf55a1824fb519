import * as v from 'valibot';
import { UuidSchema } from '../fields';
import {
  type Author,
  DEFAULT_FEED_EVENTS,
  DEFAULT_HISTORY_STREAMS,
  DEVICE_COOKIE,
  DeviceRequestSchema,
  type DeviceResponse,
  type FeedEvent,
  type FeedPage,
  type HistoryPage,
  MAX_FEED_EVENTS,
  MAX_HISTORY_EVENTS,
  MAX_HISTORY_STREAMS,
} from '../protocol/feed';
import { PROTOCOL_VERSION } from '../protocol/messages';
import type { Principal } from './access';
import { readCookie, serializeCookie } from './auth/cookies';
import type { FeedSignal } from './feed-signal';
import type { FeedEntry, FeedScope, FeedStorage } from './feed-storage';
import { errorResponse, jsonResponse } from './http-errors';
import { formatPullCursor, type PullCursor, parsePullCursor } from './pull-cursor';
import { firstMessage, isJsonContentType, readJsonBody } from './request-body';

/**
 * The feed extension's routes (docs/protocol.md, "The feed"), under the sync base path:
 *
 *   GET  {base}/feed?clientId&since&limit           the events after `since` the caller may see
 *   GET  {base}/feed/history?clientId&head&before    whole streams, newest first, as they stood at `head`
 *   GET  {base}/feed/live?clientId                   Server-Sent Events: "read the feed", when it moved
 *   POST {base}/device {clientId, name}              this device's name; was its database wiped?
 *
 * Who sees what: with users, a user sees the streams they own, or every stream when the shop shares them
 * (`shared`); without users, every stream. A server without a feed answers these routes 404, as protocol v1.
 */

export type FeedRoute = 'feed' | 'history' | 'live' | 'device';
export const FEED_METHODS: Record<FeedRoute, string> = {
  feed: 'GET',
  history: 'GET',
  live: 'GET',
  device: 'POST',
};

export function feedRouteOf(rest: string): FeedRoute | null {
  switch (rest) {
    case 'feed':
      return 'feed';
    case 'feed/history':
      return 'history';
    case 'feed/live':
      return 'live';
    case 'device':
      return 'device';
    default:
      return null;
  }
}

export interface FeedRoutesOptions {
  readonly feed: FeedStorage;
  readonly signal: FeedSignal;
  /** Every signed-in user sees every stream (`STREAM_SHARING=shop`). */
  readonly shared: boolean;
  readonly now: () => number;
  /** Whether the device cookie may be marked Secure for this request (it came over HTTPS). */
  readonly secureCookie: (request: Request) => boolean;
}

const OptionalCursor = v.optional(
  v.pipe(
    v.string(),
    v.rawTransform(({ dataset, addIssue, NEVER }) => {
      const cursor = parsePullCursor(dataset.value);
      if (cursor !== null) return cursor;
      addIssue({ message: 'a cursor is one this server handed out, exactly as it was answered' });
      return NEVER;
    }),
  ),
);
const limitOf = (max: number, fallback: number) =>
  v.optional(
    v.pipe(
      v.string(),
      v.transform(Number),
      v.number(),
      v.safeInteger('limit is a whole number'),
      v.minValue(1),
      v.maxValue(max),
    ),
    String(fallback),
  );

const FeedQuerySchema = v.object({
  clientId: v.pipe(v.string('clientId is required'), v.uuid('clientId must be a UUID')),
  since: OptionalCursor,
  limit: limitOf(MAX_FEED_EVENTS, DEFAULT_FEED_EVENTS),
});
const HistoryQuerySchema = v.object({
  clientId: v.pipe(v.string('clientId is required'), v.uuid('clientId must be a UUID')),
  head: OptionalCursor,
  before: OptionalCursor,
  limit: limitOf(MAX_HISTORY_STREAMS, DEFAULT_HISTORY_STREAMS),
});
const LiveQuerySchema = v.object({ clientId: UuidSchema });

// A device's name and clientId: anything much larger is not one.
const MAX_DEVICE_BYTES = 4 * 1024;
/** As long as browsers keep a cookie: the server decides nothing by its age. */
const DEVICE_COOKIE_MAX_AGE_SECONDS = 400 * 24 * 3600;
/** A comment line now and then, so proxies and load balancers do not close a quiet channel. */
const HEARTBEAT_MS = 20_000;

const queryOf = (request: Request, names: readonly string[]): Record<string, string | undefined> => {
  const params = new URL(request.url).searchParams;
  return Object.fromEntries(names.map((name) => [name, params.get(name) ?? undefined]));
};

/** A stored entry as the feed carries it. */
export function toFeedEvent(entry: FeedEntry): FeedEvent {
  return entry.kind === 'client' ? { kind: 'client', ...entry.event } : { kind: 'server', ...entry.event };
}

const authorsJson = (authors: ReadonlyMap<string, Author>): Record<string, Author> =>
  Object.fromEntries(authors);

export function createFeedRoutes(options: FeedRoutesOptions) {
  const { feed, signal } = options;
  const scopeOf = (principal: Principal): FeedScope =>
    principal.owner === null || options.shared ? {} : { owner: principal.owner };
  const sees = (principal: Principal, owners: ReadonlySet<string | null>): boolean =>
    principal.owner === null || options.shared || owners.has(principal.owner);

  async function readFeed(request: Request, principal: Principal): Promise<Response> {
    const query = v.safeParse(FeedQuerySchema, queryOf(request, ['clientId', 'since', 'limit']));
    if (!query.success) return errorResponse(400, 'invalid_query', firstMessage(query.issues));
    const since: PullCursor = query.output.since ?? { kind: 'seq', serverSeq: 0 };
    const read = await feed.readFeed({ since, limit: query.output.limit, ...scopeOf(principal) });
    const page: FeedPage = {
      protocol: PROTOCOL_VERSION,
      events: read.entries.map(toFeedEvent),
      cursor: formatPullCursor(read.cursor),
      hasMore: read.hasMore,
      authors: authorsJson(read.authors),
    };
    return jsonResponse(200, page);
  }

  async function readHistory(request: Request, principal: Principal): Promise<Response> {
    const query = v.safeParse(HistoryQuerySchema, queryOf(request, ['clientId', 'head', 'before', 'limit']));
    if (!query.success) return errorResponse(400, 'invalid_query', firstMessage(query.issues));
    const { head, before, limit } = query.output;
    if (head === undefined && before !== undefined) {
      return errorResponse(400, 'invalid_query', 'before goes with the head of the first page');
    }
    const read = await feed.readHistory({
      head: head ?? null,
      before: before ?? null,
      streams: limit,
      maxEvents: MAX_HISTORY_EVENTS,
      ...scopeOf(principal),
    });
    const page: HistoryPage = {
      protocol: PROTOCOL_VERSION,
      head: formatPullCursor(read.head),
      events: read.entries.map(toFeedEvent),
      streams: read.streams,
      before: read.before === null ? null : formatPullCursor(read.before),
      total: read.total,
      authors: authorsJson(read.authors),
    };
    return jsonResponse(200, page);
  }

  async function registerDevice(request: Request, principal: Principal): Promise<Response> {
    if (!isJsonContentType(request.headers.get('content-type'))) {
      return errorResponse(
        415,
        'unsupported_media_type',
        'Send the device as Content-Type: application/json',
      );
    }
    const body = await readJsonBody(request, MAX_DEVICE_BYTES);
    if (!body.ok) {
      return body.problem === 'too_large'
        ? errorResponse(413, 'payload_too_large', `A device is at most ${MAX_DEVICE_BYTES} bytes`)
        : errorResponse(400, 'malformed_json', 'The body is not JSON in UTF-8');
    }
    const parsed = v.safeParse(DeviceRequestSchema, body.value);
    if (!parsed.success) return errorResponse(400, 'invalid_request', firstMessage(parsed.issues));
    const { clientId, name } = parsed.output;
    const cookie = readCookie(request, DEVICE_COOKIE);
    const previous = await feed.registerDevice({
      clientId,
      name,
      owner: principal.owner,
      previousClientId: cookie !== undefined && v.is(UuidSchema, cookie) ? cookie : null,
      now: options.now(),
    });
    const answer: DeviceResponse = { protocol: PROTOCOL_VERSION, previous };
    return jsonResponse(200, answer, {
      // HttpOnly and apart from IndexedDB: a browser that evicts or clears the site's storage for space
      // (or Safari's seven days without a visit) keeps it, so the next visit can say what vanished.
      'set-cookie': serializeCookie(DEVICE_COOKIE, clientId, {
        path: '/api',
        maxAgeSeconds: DEVICE_COOKIE_MAX_AGE_SECONDS,
        secure: options.secureCookie(request),
      }),
    });
  }

  function live(request: Request, principal: Principal): Response {
    const query = v.safeParse(LiveQuerySchema, queryOf(request, ['clientId']));
    if (!query.success) return errorResponse(400, 'invalid_query', firstMessage(query.issues));
    const encoder = new TextEncoder();
    let stop: () => void = () => undefined;
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        let open = true;
        const send = (text: string): void => {
          if (!open) return;
          try {
            controller.enqueue(encoder.encode(text));
          } catch {
            stop();
          }
        };
        const poke = (cursor: string) => send(`event: feed\ndata: ${JSON.stringify({ cursor })}\n\n`);
        const unsubscribe = signal.subscribe({
          changed: (change) => {
            if (sees(principal, change.owners)) poke(formatPullCursor(change.head));
          },
          closed: () => {
            stop();
            try {
              controller.close();
            } catch {
              // already closed by the client
            }
          },
        });
        const heartbeat = setInterval(() => send(': still here\n\n'), HEARTBEAT_MS);
        stop = () => {
          if (!open) return;
          open = false;
          clearInterval(heartbeat);
          unsubscribe();
        };
        // How long a browser waits before it reconnects, then the first poke: whatever happened before the
        // channel opened is read at once.
        send('retry: 3000\n\n');
        poke('');
        request.signal?.addEventListener('abort', () => stop());
      },
      cancel() {
        stop();
      },
    });
    return new Response(body, {
      status: 200,
      headers: {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-store',
        // nginx buffers responses by default, which would hold every poke back.
        'x-accel-buffering': 'no',
      },
    });
  }

  return async (route: FeedRoute, request: Request, principal: Principal): Promise<Response> => {
    switch (route) {
      case 'feed':
        return readFeed(request, principal);
      case 'history':
        return readHistory(request, principal);
      case 'device':
        return registerDevice(request, principal);
      case 'live':
        return live(request, principal);
      default: {
        const unknown: never = route;
        return unknown;
      }
    }
  };
}
