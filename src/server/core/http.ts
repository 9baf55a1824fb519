import * as v from 'valibot';
import type { Clock, IdGenerator } from '../../platform/ids';
import {
  MAX_BATCH_BYTES,
  MAX_BATCH_EVENTS,
  PROTOCOL_VERSION,
  PushRequestEnvelopeSchema,
} from '../../protocol/messages';
import { errorResponse, jsonResponse } from './http-errors';
import { handlePull } from './pull';
import { handlePush } from './push';
import type { ServerStorage } from './storage';

export interface SyncServerOptions {
  storage: ServerStorage;
  clock: Clock;
  ids: IdGenerator;
  /** Where the protocol lives; default '/api/sync'. */
  basePath?: string;
  /** Largest push body accepted, in bytes; default 1 MiB (the protocol's limit). */
  maxBodyBytes?: number;
  /** When set, every route but health needs `Authorization: Bearer <token>`. */
  token?: string | null;
}

export type SyncHandler = (request: Request) => Promise<Response>;

type Route = 'push' | 'pull' | 'health' | 'stats';
const METHODS: Record<Route, string> = { push: 'POST', pull: 'GET', health: 'GET', stats: 'GET' };

const CursorSchema = v.pipe(
  v.string(),
  v.regex(/^\d{1,15}$/, 'since is a cursor from an earlier pull: a decimal serverSeq'),
  v.transform(Number),
  v.safeInteger(),
);
const PullQuerySchema = v.object({
  clientId: v.pipe(v.string('clientId is required'), v.uuid('clientId must be a UUID')),
  since: v.optional(CursorSchema, '0'),
});

/**
 * Protocol v1's server over web-standard Request/Response, so the same code answers inside the Node
 * reference server, the MSW mock and a service worker. Bad input always gets a 4xx with an error body and
 * writes nothing; a 500 only means the storage itself failed.
 */
export function createSyncHandler(options: SyncServerOptions): SyncHandler {
  const base = (options.basePath ?? '/api/sync').replace(/\/+$/, '');
  const maxBodyBytes = options.maxBodyBytes ?? MAX_BATCH_BYTES;
  const token = options.token ?? null;
  const deps = { storage: options.storage, clock: options.clock, ids: options.ids };

  return async (request) => {
    const route = routeOf(new URL(request.url).pathname, base);
    if (route === null)
      return errorResponse(404, 'not_found', `No sync route at ${new URL(request.url).pathname}`);
    if (route !== 'health' && token !== null && !isAuthorized(request, token)) {
      return errorResponse(401, 'unauthorized', 'A valid Authorization: Bearer token is required', {
        'www-authenticate': 'Bearer',
      });
    }
    const method = METHODS[route];
    if (request.method !== method) {
      return errorResponse(405, 'method_not_allowed', `${route} accepts ${method} only`, { allow: method });
    }
    try {
      switch (route) {
        case 'health':
          return jsonResponse(200, { status: 'ok' });
        case 'stats':
          return jsonResponse(200, await deps.storage.read((reader) => reader.stats()));
        case 'pull':
          return await pull(request);
        case 'push':
          return await push(request);
        default: {
          const unknownRoute: never = route;
          return unknownRoute;
        }
      }
    } catch (error) {
      // Only the storage can fail here; the client resends and step 1 of a push makes that safe.
      const message = error instanceof Error ? error.message : String(error);
      return errorResponse(500, 'internal', `The server failed: ${message}`);
    }
  };

  async function pull(request: Request): Promise<Response> {
    const params = new URL(request.url).searchParams;
    const query = v.safeParse(PullQuerySchema, {
      clientId: params.get('clientId') ?? undefined,
      since: params.get('since') ?? undefined,
    });
    if (!query.success) return errorResponse(400, 'invalid_query', firstMessage(query.issues));
    return jsonResponse(200, await handlePull(deps.storage, query.output.clientId, query.output.since));
  }

  async function push(request: Request): Promise<Response> {
    if (!isJsonContentType(request.headers.get('content-type'))) {
      return errorResponse(415, 'unsupported_media_type', 'A push is sent as Content-Type: application/json');
    }
    const declared = Number(request.headers.get('content-length') ?? Number.NaN);
    if (declared > maxBodyBytes) return tooLarge(`The body is ${declared} bytes; at most ${maxBodyBytes}`);
    // Counted while streaming: a missing or lying Content-Length must not let a huge body into memory.
    let bytes: Uint8Array | null;
    try {
      bytes = await readAtMost(request, maxBodyBytes);
    } catch {
      // The client broke off mid-body: its request, not the server, failed.
      return errorResponse(400, 'malformed_json', 'The body could not be read to its end');
    }
    if (bytes === null) return tooLarge(`The body is over ${maxBodyBytes} bytes`);

    let body: unknown;
    try {
      body = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
    } catch {
      return errorResponse(400, 'malformed_json', 'The body is not JSON in UTF-8');
    }
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
    return jsonResponse(200, await handlePush(deps, envelope.output));
  }
}

function tooLarge(message: string): Response {
  return errorResponse(413, 'payload_too_large', `${message}: split the batch and resend`);
}

function routeOf(pathname: string, base: string): Route | null {
  if (!pathname.startsWith(`${base}/`)) return null;
  const rest = pathname.slice(base.length + 1).replace(/\/$/, '');
  return rest === 'push' || rest === 'pull' || rest === 'health' || rest === 'stats' ? rest : null;
}

function isJsonContentType(header: string | null): boolean {
  const mediaType = header?.split(';')[0]?.trim().toLowerCase() ?? '';
  return mediaType === 'application/json' || /^application\/[a-z0-9.+-]+\+json$/.test(mediaType);
}

function isAuthorized(request: Request, token: string): boolean {
  const match = /^Bearer\s+(.+)$/i.exec(request.headers.get('authorization') ?? '');
  return match?.[1] !== undefined && constantTimeEqual(match[1].trim(), token);
}

/** Compares without stopping at the first difference, so response time does not reveal the token. */
function constantTimeEqual(given: string, expected: string): boolean {
  let difference = given.length ^ expected.length;
  for (let index = 0; index < expected.length; index += 1) {
    difference |= (given.charCodeAt(index) || 0) ^ expected.charCodeAt(index);
  }
  return difference === 0;
}

/** The whole body, or null as soon as it passes `limit` bytes. */
async function readAtMost(request: Request, limit: number): Promise<Uint8Array | null> {
  if (!request.body) return new Uint8Array(0);
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > limit) {
      await reader.cancel().catch(() => undefined);
      return null;
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return bytes;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function firstMessage(issues: readonly v.BaseIssue<unknown>[]): string {
  const issue = issues[0];
  if (!issue) return 'The request is malformed';
  const path = v.getDotPath(issue);
  return path ? `${path}: ${issue.message}` : issue.message;
}
