import { delay, HttpResponse, http, type RequestHandler } from 'msw';
import { errorResponse, type SyncHandler } from '../server';
import type { FaultControl, FaultSettings } from './faults';

/** What the mock's msw handlers answer with, and where. */
export interface MockHandlersOptions {
  /** The real protocol server, usually `createSyncHandler(...)`. */
  readonly handle: SyncHandler;
  readonly faults: FaultControl;
  /**
   * Where the mock answers: an absolute URL (`http://localhost/api/sync`) or a path (`/api/sync`, the
   * default) that matches on any origin, since Node has no page origin to resolve it against.
   */
  readonly baseUrl?: string;
}

/** msw handlers that answer `{baseUrl}/*` with the real server logic, after the configured faults. */
export function createMockHandlers(options: MockHandlersOptions): RequestHandler[] {
  const base = (options.baseUrl ?? '/api/sync').replace(/\/+$/, '');
  const pattern = /^[a-z][a-z0-9+.-]*:\/\//i.test(base)
    ? `${base}/*`
    : new RegExp(`^[a-z][a-z0-9+.-]*://[^/]+${escapeRegExp(base)}/`, 'i');
  return [http.all(pattern, ({ request }) => respondWithFaults(request, options.faults, options.handle))];
}

/**
 * Answers one request the way a flaky network and server would, by the faults in force when it arrives.
 * A network failure is `Response.error()`: msw and a service worker's `respondWith` turn it into a
 * rejected fetch, exactly what the client would see.
 */
export async function respondWithFaults(
  request: Request,
  faults: FaultControl,
  handle: SyncHandler,
): Promise<Response> {
  const settings = faults.settings;
  if (settings.offline) return HttpResponse.error();
  if (settings.latencyMs > 0) await delay(settings.latencyMs);
  if (settings.captivePortal) return captivePortalPage();
  if (settings.unauthorized && !new URL(request.url).pathname.endsWith('/health')) {
    return errorResponse(401, 'unauthorized', 'Sign in again: the session has expired', {
      'www-authenticate': 'Bearer',
    });
  }
  if (settings.rateLimit) {
    return errorResponse(429, 'rate_limited', 'Too many requests', {
      'retry-after': String(settings.rateLimit.retryAfterSeconds),
    });
  }
  if (settings.maxBodyBytes !== null && (await bodyBytes(request)) > settings.maxBodyBytes) {
    return errorResponse(
      413,
      'payload_too_large',
      `The body is over ${settings.maxBodyBytes} bytes: split the batch`,
    );
  }
  const failure = pickFailure(settings, faults.random);
  if (failure !== null) return fail(failure, settings, request);
  if (settings.ackLossRate > 0 && faults.random() < settings.ackLossRate) {
    // The server does all its work and stores the batch; only the answer never arrives.
    await handle(request);
    return HttpResponse.error();
  }
  return handle(request);
}

function pickFailure(
  settings: FaultSettings,
  random: () => number,
): FaultSettings['failureKinds'][number] | null {
  if (settings.failureRate <= 0 || settings.failureKinds.length === 0) return null;
  if (random() >= settings.failureRate) return null;
  const index = Math.min(
    settings.failureKinds.length - 1,
    Math.floor(random() * settings.failureKinds.length),
  );
  return settings.failureKinds[index] ?? null;
}

async function fail(
  kind: FaultSettings['failureKinds'][number],
  settings: FaultSettings,
  request: Request,
): Promise<Response> {
  switch (kind) {
    case '500':
      return errorResponse(500, 'internal', 'The server failed (injected fault)');
    case '503':
      return errorResponse(503, 'unavailable', 'The server is overloaded (injected fault)', {
        'retry-after': String(settings.retryAfterSeconds),
      });
    case 'network':
      return HttpResponse.error();
    case 'timeout':
      // No answer at all: only the client giving up ends the wait.
      await abortOf(request);
      return HttpResponse.error();
    default: {
      const unknownKind: never = kind;
      return unknownKind;
    }
  }
}

function abortOf(request: Request): Promise<void> {
  return new Promise((resolve) => {
    if (request.signal.aborted) resolve();
    else request.signal.addEventListener('abort', () => resolve(), { once: true });
  });
}

async function bodyBytes(request: Request): Promise<number> {
  if (request.method === 'GET' || request.method === 'HEAD') return 0;
  // A clone, so the real handler can still read the body afterwards.
  return (await request.clone().arrayBuffer()).byteLength;
}

function captivePortalPage(): Response {
  return new HttpResponse(
    '<!doctype html><html><head><title>Guest Wi-Fi</title></head>' +
      '<body><h1>Welcome to Guest Wi-Fi</h1><p>Accept the terms to get online.</p>' +
      '<form method="post" action="/login"><button>Accept and connect</button></form></body></html>',
    { status: 200, headers: { 'content-type': 'text/html; charset=utf-8' } },
  );
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
