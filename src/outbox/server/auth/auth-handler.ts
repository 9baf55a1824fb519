import * as v from 'valibot';
import { LoginRequestSchema, type MeResponse, SESSION_COOKIE } from '../../protocol/auth';
import { type Connection, directConnection, type Peer } from '../connection';
import { errorResponse, foreignOrigin, jsonResponse, serverFailed, unauthorized } from '../http-errors';
import { firstMessage, isJsonContentType, readJsonBody } from '../request-body';
import { serializeCookie } from './cookies';
import type { UserAccess } from './user-access';

/** What `createAuthHandler` serves over; only `access` is required, the defaults suit a lone server. */
export interface AuthHandlerOptions {
  /** The rules: who signs in, which session a cookie names. */
  readonly access: UserAccess;
  /** Where the routes live; default '/api/auth'. */
  readonly basePath?: string;
  /** Where the browser sends the cookie back: every API route, so sync requests carry it. Default '/api'. */
  readonly cookiePath?: string;
  /** Reads the client's address (rate limits) and public origin (Secure cookie); direct by default. */
  readonly connection?: Connection;
  /** `https`: Secure when the request came over HTTPS (as the public origin says); `always`: every time. */
  readonly secureCookie?: 'https' | 'always';
  /** Refuses a browser's request from another site with 403 (`createOriginCheck`). */
  readonly isForeignOrigin?: (request: Request) => boolean;
}

/**
 * Answers every request, never rejects: a path outside its routes is a 404, a failure of the store a 500 with
 * the error body. Pass `peer` from the socket, or every client shares the per-address limit as 'unknown'.
 */
export type AuthHandler = (request: Request, peer?: Peer) => Promise<Response>;

type Route = 'login' | 'logout' | 'me';
const METHODS: Record<Route, string> = { login: 'POST', logout: 'POST', me: 'GET' };
// A login is two short strings: anything much larger is not one, and is not read into memory.
const MAX_LOGIN_BYTES = 8 * 1024;
/**
 * The cookie outlives any session (400 days, the most browsers keep one): the server's expiry is the
 * only one that counts. So no sync answer ever has to set the cookie again, and none can race a sign-in
 * in another tab or the service worker by writing an older id over a newer one.
 */
const COOKIE_MAX_AGE_SECONDS = 400 * 24 * 3600;

/**
 * `POST {base}/login`, `POST {base}/logout` and `GET {base}/me` over web Request/Response, for `AUTH=users`
 * (docs/protocol.md, "Users and sessions"). Bad input is a 4xx with the error body, never a 5xx.
 */
export function createAuthHandler(options: AuthHandlerOptions): AuthHandler {
  const { access } = options;
  const base = (options.basePath ?? '/api/auth').replace(/\/+$/, '');
  const cookiePath = options.cookiePath ?? '/api';
  const connection = options.connection ?? directConnection;
  const isForeignOrigin = options.isForeignOrigin ?? (() => false);

  const cookie = (request: Request, value: string, maxAgeSeconds: number): string =>
    serializeCookie(SESSION_COOKIE, value, {
      path: cookiePath,
      maxAgeSeconds,
      secure: options.secureCookie === 'always' || connection.publicOrigin(request).startsWith('https:'),
    });

  return async (request, peer) => {
    const pathname = new URL(request.url).pathname;
    const rest = pathname.startsWith(`${base}/`) ? pathname.slice(base.length + 1).replace(/\/$/, '') : '';
    if (rest !== 'login' && rest !== 'logout' && rest !== 'me') {
      return errorResponse(404, 'not_found', `No auth route at ${pathname}`);
    }
    const route: Route = rest;
    if (isForeignOrigin(request)) return foreignOrigin();
    const method = METHODS[route];
    if (request.method !== method) {
      return errorResponse(405, 'method_not_allowed', `${route} accepts ${method} only`, { allow: method });
    }
    try {
      switch (route) {
        case 'login':
          return await login(request, peer);
        case 'logout': {
          const type = request.headers.get('content-type');
          if (type !== null && !isJsonContentType(type)) return notJson();
          await access.logout(request);
          return new Response(null, {
            status: 204,
            headers: noStore({ 'set-cookie': cookie(request, '', 0) }),
          });
        }
        case 'me': {
          const username = await access.identifyUser(request);
          if (username === null) return unauthorized();
          const body: MeResponse = { username };
          return jsonResponse(200, body);
        }
        default: {
          const unknownRoute: never = route;
          return unknownRoute;
        }
      }
    } catch (error) {
      return serverFailed(error);
    }
  };

  async function login(request: Request, peer: Peer | undefined): Promise<Response> {
    if (!isJsonContentType(request.headers.get('content-type'))) return notJson();
    const read = await readJsonBody(request, MAX_LOGIN_BYTES);
    if (!read.ok) {
      return read.problem === 'too_large'
        ? errorResponse(413, 'payload_too_large', `A login is at most ${MAX_LOGIN_BYTES} bytes`)
        : errorResponse(400, 'malformed_json', 'The body is not JSON in UTF-8');
    }
    const credentials = v.safeParse(LoginRequestSchema, read.value);
    if (!credentials.success) return errorResponse(400, 'invalid_request', firstMessage(credentials.issues));

    const outcome = await access.login(credentials.output, {
      clientAddress: connection.clientAddress(request, peer),
      request,
    });
    switch (outcome.kind) {
      case 'signed_in':
        return new Response(null, {
          status: 204,
          headers: noStore({ 'set-cookie': cookie(request, outcome.sessionId, COOKIE_MAX_AGE_SECONDS) }),
        });
      case 'refused':
        return errorResponse(401, 'invalid_credentials', 'Wrong username or password');
      case 'limited':
        return errorResponse(429, 'rate_limited', 'Too many failed sign-ins: wait before trying again', {
          'retry-after': String(outcome.retryAfterSeconds),
        });
      default: {
        const unknownOutcome: never = outcome;
        return unknownOutcome;
      }
    }
  }
}

function notJson(): Response {
  return errorResponse(415, 'unsupported_media_type', 'Send the body as Content-Type: application/json');
}

function noStore(headers: Record<string, string>): Record<string, string> {
  return { 'cache-control': 'no-store', ...headers };
}
