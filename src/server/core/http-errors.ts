import type { ErrorBody } from '../../protocol/messages';

/** Codes of the `{ error: { code, message } }` bodies this server answers; clients match on them. */
export type SyncErrorCode =
  | 'malformed_json'
  | 'invalid_envelope'
  | 'unsupported_protocol'
  | 'invalid_query'
  | 'unauthorized'
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

export function jsonResponse(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { ...JSON_HEADERS, ...headers } });
}

export function errorResponse(
  status: number,
  code: SyncErrorCode,
  message: string,
  headers: Record<string, string> = {},
): Response {
  const body: ErrorBody = { error: { code, message } };
  return jsonResponse(status, body, headers);
}
