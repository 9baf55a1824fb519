import * as v from 'valibot';

/** Reading request bodies the same way on every route: JSON only, bounded, and never trusted. */

export function isJsonContentType(header: string | null): boolean {
  const mediaType = header?.split(';')[0]?.trim().toLowerCase() ?? '';
  return mediaType === 'application/json' || /^application\/[a-z0-9.+-]+\+json$/.test(mediaType);
}

export type JsonBody =
  | { readonly ok: true; readonly value: unknown }
  | { readonly ok: false; readonly problem: 'unreadable' | 'too_large' | 'not_json' };

/**
 * The body parsed as JSON in UTF-8, read at most `limit` bytes: counted while streaming, so a missing or
 * lying Content-Length cannot let a huge body into memory.
 */
export async function readJsonBody(request: Request, limit: number): Promise<JsonBody> {
  let bytes: Uint8Array | null;
  try {
    bytes = await readAtMost(request, limit);
  } catch {
    // The client broke off mid-body: its request, not the server, failed.
    return { ok: false, problem: 'unreadable' };
  }
  if (bytes === null) return { ok: false, problem: 'too_large' };
  try {
    return { ok: true, value: JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes)) };
  } catch {
    return { ok: false, problem: 'not_json' };
  }
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

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function firstMessage(issues: readonly v.BaseIssue<unknown>[]): string {
  const issue = issues[0];
  if (!issue) return 'The request is malformed';
  const path = v.getDotPath(issue);
  return path ? `${path}: ${issue.message}` : issue.message;
}
