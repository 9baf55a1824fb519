import * as v from 'valibot';
import {
  type DeviceRequest,
  type DeviceResponse,
  DeviceResponseSchema,
  type FeedPage,
  FeedPageSchema,
  type HistoryPage,
  HistoryPageSchema,
} from '../../protocol/feed';
import {
  ErrorBodySchema,
  HealthResponseSchema,
  type PullResponse,
  PullResponseSchema,
  type PushRequest,
  type PushResponse,
  PushResponseSchema,
  parseServerEvent,
  type WireServerEvent,
} from '../../protocol/messages';
import type { StreamTypes } from '../../stream-types';
import { SyncRequestError } from './errors';
import { parseRetryAfter } from './retry-policy';

/**
 * The two requests of protocol v1 over an injected `fetch`, each turned into a trusted answer or a typed
 * failure. Nothing here touches the database, so the engine can call it outside any transaction.
 */
export interface HttpClientDeps {
  /** The app's stream types: every server event that arrives is checked against its own. */
  readonly streamTypes: StreamTypes;
  readonly transport: typeof fetch;
  readonly baseUrl: string;
  readonly token: () => string | null;
  readonly now: () => number;
  readonly timeoutMs: number;
}

export type HttpResult<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly error: SyncRequestError };

interface RawAnswer {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
}

const joinUrl = (base: string, path: string): string => `${base.replace(/\/+$/, '')}/${path}`;

/**
 * One request with a hard deadline. The race matters as much as the signal: a transport that ignores
 * AbortSignal (or a body that never finishes) must still give the flush back its turn.
 */
async function request(deps: HttpClientDeps, url: string, init: RequestInit): Promise<HttpResult<RawAnswer>> {
  const controller = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => {
      controller.abort();
      resolve('timeout');
    }, deps.timeoutMs);
  });
  const exchange = (async (): Promise<RawAnswer> => {
    const response = await deps.transport(url, { ...init, signal: controller.signal });
    return { status: response.status, headers: response.headers, text: await response.text() };
  })();
  // A late rejection after the deadline won must not surface as an unhandled rejection.
  exchange.catch(() => undefined);
  try {
    const winner = await Promise.race([exchange, deadline]);
    if (winner === 'timeout') {
      return fail('timeout', `No answer from the sync server within ${Math.round(deps.timeoutMs / 1000)} s`);
    }
    return { ok: true, value: winner };
  } catch (error) {
    if (controller.signal.aborted) {
      return fail('timeout', `No answer from the sync server within ${Math.round(deps.timeoutMs / 1000)} s`);
    }
    const detail = error instanceof Error ? error.message : String(error);
    return fail('offline', `Could not reach the sync server (${detail})`);
  } finally {
    clearTimeout(timer);
  }
}

const fail = (
  ...args: ConstructorParameters<typeof SyncRequestError>
): { ok: false; error: SyncRequestError } => ({
  ok: false,
  error: new SyncRequestError(...args),
});

/** The `{ error: { code, message } }` body of an error answer, when it has one. */
function errorBody(answer: RawAnswer): { readonly code: string; readonly message: string } | null {
  try {
    const parsed = v.safeParse(ErrorBodySchema, JSON.parse(answer.text));
    if (parsed.success) return parsed.output.error;
  } catch {
    // Not JSON: no body to read.
  }
  return null;
}

function serverMessage(answer: RawAnswer): string {
  const body = errorBody(answer);
  return body ? `${body.code}: ${body.message}` : `HTTP ${answer.status}`;
}

/** Every non-200 answer of the protocol, mapped to what the client must do about it. */
function classifyError(answer: RawAnswer, nowMs: number): SyncRequestError {
  const { status } = answer;
  const message = serverMessage(answer);
  if (status === 403 && errorBody(answer)?.code === 'client_id_taken') {
    return new SyncRequestError(
      'client_id_taken',
      `This device's clientId is another user's (${message})`,
      status,
    );
  }
  if (status === 401 || status === 403) {
    return new SyncRequestError('auth_required', `Sign-in needed (${message})`, status);
  }
  if (status === 400) return new SyncRequestError('bad_request', message, status);
  if (status === 413) return new SyncRequestError('too_large', message, status);
  if (status === 429 || status === 503) {
    const retryAfterMs = parseRetryAfter(answer.headers.get('Retry-After'), nowMs);
    return new SyncRequestError('overloaded', `Server busy (${message})`, status, retryAfterMs);
  }
  // Other 5xx, and anything the protocol does not name (404 from a proxy, 415): transient, the resend is safe.
  return new SyncRequestError('server_error', `Server failed (${message})`, status);
}

function parseJson<S extends v.GenericSchema>(schema: S, answer: RawAnswer): HttpResult<v.InferOutput<S>> {
  let body: unknown;
  try {
    body = JSON.parse(answer.text);
  } catch {
    // A captive portal's login page arrives as 200 text/html: never trust it as an answer.
    return fail(
      'invalid_response',
      'The sync server answered with something that is not JSON',
      answer.status,
    );
  }
  const parsed = v.safeParse(schema, body);
  if (!parsed.success) {
    const issue = parsed.issues[0];
    const where = issue ? (v.getDotPath(issue) ?? 'body') : 'body';
    return fail(
      'invalid_response',
      `The sync server's answer breaks the protocol at ${where}`,
      answer.status,
    );
  }
  return { ok: true, value: parsed.output };
}

export async function postPush(deps: HttpClientDeps, body: PushRequest): Promise<HttpResult<PushResponse>> {
  const headers: Record<string, string> = {
    'Content-Type': 'application/json',
    'Idempotency-Key': body.batchId,
  };
  const token = deps.token();
  if (token) headers.Authorization = `Bearer ${token}`;
  const answer = await request(deps, joinUrl(deps.baseUrl, 'push'), {
    method: 'POST',
    headers,
    body: JSON.stringify(body),
  });
  if (!answer.ok) return answer;
  if (answer.value.status !== 200) return { ok: false, error: classifyError(answer.value, deps.now()) };
  const parsed = parseJson(PushResponseSchema, answer.value);
  if (!parsed.ok) return parsed;
  // The answer must be about exactly this batch, in order; anything else could mark the wrong entry delivered.
  const { results } = parsed.value;
  const matches =
    results.length === body.events.length &&
    results.every((result, index) => result.eventId === body.events[index]?.eventId);
  if (!matches) {
    return fail('invalid_response', "The sync server's results do not match the events sent", 200);
  }
  const serverEvents = checkedServerEvents(deps.streamTypes, parsed.value.serverEvents);
  return serverEvents ? { ok: true, value: { ...parsed.value, serverEvents } } : badServerEvent();
}

/** Each server event checked against its stream type; null when one breaks the contract. */
function checkedServerEvents(
  types: StreamTypes,
  events: readonly WireServerEvent[],
): WireServerEvent[] | null {
  const checked: WireServerEvent[] = [];
  for (const event of events) {
    const valid = parseServerEvent(types, event);
    if (!valid) return null;
    checked.push(valid);
  }
  return checked;
}

const badServerEvent = () =>
  fail('invalid_response', "A server event in the sync server's answer breaks the protocol", 200);

export async function getPull(
  deps: HttpClientDeps,
  clientId: string,
  since: string | null,
): Promise<HttpResult<PullResponse>> {
  const query = `clientId=${encodeURIComponent(clientId)}${since === null ? '' : `&since=${encodeURIComponent(since)}`}`;
  const headers: Record<string, string> = { Accept: 'application/json' };
  const token = deps.token();
  if (token) headers.Authorization = `Bearer ${token}`;
  const answer = await request(deps, `${joinUrl(deps.baseUrl, 'pull')}?${query}`, { method: 'GET', headers });
  if (!answer.ok) return answer;
  if (answer.value.status !== 200) return { ok: false, error: classifyError(answer.value, deps.now()) };
  const parsed = parseJson(PullResponseSchema, answer.value);
  if (!parsed.ok) return parsed;
  const serverEvents = checkedServerEvents(deps.streamTypes, parsed.value.serverEvents);
  return serverEvents ? { ok: true, value: { ...parsed.value, serverEvents } } : badServerEvent();
}

/**
 * Whether the server answers at all: `GET {base}/health` gives `200 {"status":"ok"}`. A few bytes, no
 * credentials and no database work on either side, so it can be asked often while the server is unreachable
 * (a captive portal's page, or anything else, is not an answer).
 */
export async function getHealth(deps: HttpClientDeps): Promise<boolean> {
  const answer = await request(deps, joinUrl(deps.baseUrl, 'health'), {
    method: 'GET',
    headers: { Accept: 'application/json' },
  });
  return answer.ok && answer.value.status === 200 && parseJson(HealthResponseSchema, answer.value).ok;
}

/**
 * A feed route's answer (docs/protocol.md, "The feed"): the page, `absent` when the server has no feed (a
 * protocol v1 server answers 404, a proxy in front perhaps 405), or a failure classified as a pull's is.
 */
export type FeedAnswer<T> = HttpResult<T> | { readonly ok: true; readonly value: 'absent' };

async function getFeedRoute<S extends v.GenericSchema>(
  deps: HttpClientDeps,
  path: string,
  query: Record<string, string | null>,
  schema: S,
): Promise<FeedAnswer<v.InferOutput<S>>> {
  const search = Object.entries(query)
    .filter((entry): entry is [string, string] => entry[1] !== null)
    .map(([name, value]) => `${name}=${encodeURIComponent(value)}`)
    .join('&');
  const headers: Record<string, string> = { Accept: 'application/json' };
  const token = deps.token();
  if (token) headers.Authorization = `Bearer ${token}`;
  const answer = await request(deps, `${joinUrl(deps.baseUrl, path)}?${search}`, { method: 'GET', headers });
  if (!answer.ok) return answer;
  if (isAbsent(answer.value)) return { ok: true, value: 'absent' };
  if (answer.value.status !== 200) return { ok: false, error: classifyError(answer.value, deps.now()) };
  return parseJson(schema, answer.value);
}

/** A server without the feed: its 404 (or a 405 from something in front of it). */
const isAbsent = (answer: RawAnswer): boolean => answer.status === 404 || answer.status === 405;

/** `GET {base}/feed`: the events after `since` (from the start without). */
export function getFeed(
  deps: HttpClientDeps,
  clientId: string,
  since: string | null,
  limit: number,
): Promise<FeedAnswer<FeedPage>> {
  return getFeedRoute(deps, 'feed', { clientId, since, limit: String(limit) }, FeedPageSchema);
}

/** `GET {base}/feed/history`: whole streams, newest first, at `head` (the head now on the first page). */
export function getHistory(
  deps: HttpClientDeps,
  clientId: string,
  head: string | null,
  before: string | null,
  limit: number,
): Promise<FeedAnswer<HistoryPage>> {
  return getFeedRoute(
    deps,
    'feed/history',
    { clientId, head, before, limit: String(limit) },
    HistoryPageSchema,
  );
}

/** `POST {base}/device`: this device's name; the answer says whether its database vanished since. */
export async function postDevice(
  deps: HttpClientDeps,
  body: DeviceRequest,
): Promise<FeedAnswer<DeviceResponse>> {
  const headers: Record<string, string> = { 'Content-Type': 'application/json' };
  const token = deps.token();
  if (token) headers.Authorization = `Bearer ${token}`;
  const answer = await request(deps, joinUrl(deps.baseUrl, 'device'), {
    method: 'POST',
    headers,
    body: JSON.stringify(body),
    // The server sets the device cookie on this answer, and reads the one it set before.
    credentials: 'same-origin',
  });
  if (!answer.ok) return answer;
  if (isAbsent(answer.value)) return { ok: true, value: 'absent' };
  if (answer.value.status !== 200) return { ok: false, error: classifyError(answer.value, deps.now()) };
  return parseJson(DeviceResponseSchema, answer.value);
}
