import type { ErrorBody } from '../protocol/messages';

/** Codes of the `{ error: { code, message } }` bodies the server answers (sync and sign-in); clients match on them. */
export type ErrorCode =
  | 'malformed_json'
  | 'invalid_envelope'
  | 'unsupported_protocol'
  | 'invalid_query'
  | 'invalid_request'
  | 'unauthorized'
  | 'invalid_credentials'
  | 'forbidden_origin'
  | 'client_id_taken'
  | 'not_found'
  | 'method_not_allowed'
  | 'payload_too_large'
  | 'unsupported_media_type'
  | 'rate_limited'
  | 'unavailable'
  | 'internal';

const JSON_HEADERS = {
  'content-type': 'application/json; charset=utf-8',
  // Sync answers describe one moment of the server: no cache may replay them.
  'cache-control': 'no-store',
};

/** `body` as JSON with `no-store`, so no cache replays it; `headers` are added over the defaults. */
export function jsonResponse(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { ...JSON_HEADERS, ...headers } });
}

/** The protocol's error body: `code` is what a client matches on, `message` is for a person; any status. */
export function errorResponse(
  status: number,
  code: ErrorCode,
  message: string,
  headers: Record<string, string> = {},
): Response {
  const body: ErrorBody = { error: { code, message } };
  return jsonResponse(status, body, headers);
}

/** No credentials, or none that name anybody: the protocol's 401, which pauses a client until sign-in. */
export function unauthorized(): Response {
  return errorResponse(401, 'unauthorized', 'Sign in, or send Authorization: Bearer <token>', {
    'www-authenticate': 'Bearer',
  });
}

/** A browser's state-changing request sent from another site (`createOriginCheck`). */
export function foreignOrigin(): Response {
  return errorResponse(403, 'forbidden_origin', 'Requests from another site are refused');
}

/** A 500 for a failure of the server's own (a store), never of the request; its message names the cause. */
export function serverFailed(error: unknown): Response {
  const message = error instanceof Error ? error.message : String(error);
  return errorResponse(500, 'internal', `The server failed: ${message}`);
}
