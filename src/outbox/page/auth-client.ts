import * as v from 'valibot';
import { parseRetryAfter } from '../device/sync/retry-policy';
import { LoginRequestSchema, MeResponseSchema } from '../protocol/auth';
import { ErrorBodySchema } from '../protocol/messages';
import { err, ok, type Result } from '../result';

/**
 * The sign-in routes of the protocol's auth extension (docs/protocol.md, "Users and sessions") over an
 * injected `fetch`, each answer turned into a value or a typed failure the sign-in form can show. The
 * session is a cookie the browser keeps (HttpOnly: never read here); same-origin requests carry it, the
 * worker's included.
 */

export interface AuthClientDeps {
  readonly transport: typeof fetch;
  /** `…/api/auth`: next to the sync endpoint (`authBaseOf`). */
  readonly baseUrl: string;
  readonly now: () => number;
}

/** The auth routes live next to the sync routes: `…/api/sync` → `…/api/auth`. */
export const authBaseOf = (syncEndpoint: string): string =>
  syncEndpoint.replace(/\/+$/, '').replace(/\/sync$/, '/auth');

/** Why a sign-in or sign-out did not happen, with what a form needs to show it. */
export type SignInFailure =
  /** A field the form must fix before anything is sent. */
  | {
      readonly code: 'invalid_request';
      readonly field: 'username' | 'password' | null;
      readonly message: string;
    }
  /** Wrong username or password: the server does not say which. */
  | { readonly code: 'invalid_credentials'; readonly message: string }
  /** Too many failed sign-ins for this name or this address: wait `retryAfterMs`. */
  | { readonly code: 'rate_limited'; readonly retryAfterMs: number; readonly message: string }
  /** No answer, or an answer that is not the server's (a captive portal's page). */
  | { readonly code: 'unreachable'; readonly message: string }
  | { readonly code: 'server_error'; readonly status: number; readonly message: string };

/** Checks the form's fields with the wire schema: a field error never costs a request (or a rate-limit slot). */
export function checkLogin(
  username: string,
  password: string,
): Result<v.InferOutput<typeof LoginRequestSchema>, SignInFailure> {
  const parsed = v.safeParse(LoginRequestSchema, { username: username.trim(), password });
  if (parsed.success) return ok(parsed.output);
  const issue = parsed.issues[0];
  const path = issue ? v.getDotPath(issue) : null;
  return err({
    code: 'invalid_request',
    field: path === 'username' || path === 'password' ? path : null,
    message: issue?.message ?? 'Check the username and password',
  });
}

const unreachable = (error: unknown): SignInFailure => ({
  code: 'unreachable',
  message: `Could not reach the server (${error instanceof Error ? error.message : String(error)})`,
});

async function exchange(
  deps: AuthClientDeps,
  path: string,
  init: RequestInit,
): Promise<Result<Response, SignInFailure>> {
  try {
    return ok(await deps.transport(`${deps.baseUrl}/${path}`, { credentials: 'same-origin', ...init }));
  } catch (error) {
    return err(unreachable(error));
  }
}

async function failureOf(deps: AuthClientDeps, response: Response): Promise<SignInFailure> {
  let body: { code: string; message: string } | null = null;
  try {
    const parsed = v.safeParse(ErrorBodySchema, await response.json());
    body = parsed.success ? parsed.output.error : null;
  } catch {
    body = null;
  }
  if (response.status === 401) {
    return { code: 'invalid_credentials', message: 'Wrong username or password' };
  }
  if (response.status === 429) {
    const retryAfterMs = parseRetryAfter(response.headers.get('Retry-After'), deps.now()) ?? 60_000;
    return { code: 'rate_limited', retryAfterMs, message: body?.message ?? 'Too many failed sign-ins' };
  }
  if (response.status === 400 || response.status === 413 || response.status === 415) {
    return { code: 'invalid_request', field: null, message: body?.message ?? `HTTP ${response.status}` };
  }
  if (body === null && response.status < 500) {
    return {
      code: 'unreachable',
      message: `The server answered HTTP ${response.status} without an error body`,
    };
  }
  return {
    code: 'server_error',
    status: response.status,
    message: body?.message ?? `HTTP ${response.status}`,
  };
}

/** `POST /login`, then `GET /me` for the name as the server stores it (lowercase). Resolves that name. */
export async function login(
  deps: AuthClientDeps,
  username: string,
  password: string,
): Promise<Result<string, SignInFailure>> {
  const checked = checkLogin(username, password);
  if (!checked.ok) return checked;
  const answer = await exchange(deps, 'login', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(checked.value),
  });
  if (!answer.ok) return answer;
  if (answer.value.status !== 204) return err(await failureOf(deps, answer.value));
  return whoAmI(deps);
}

/** `GET /me`: who the session (or token) names. */
export async function whoAmI(deps: AuthClientDeps): Promise<Result<string, SignInFailure>> {
  const answer = await exchange(deps, 'me', { method: 'GET', headers: { Accept: 'application/json' } });
  if (!answer.ok) return answer;
  if (answer.value.status !== 200) return err(await failureOf(deps, answer.value));
  try {
    const parsed = v.safeParse(MeResponseSchema, await answer.value.json());
    if (parsed.success) return ok(parsed.output.username);
  } catch {
    // Not JSON: the same as a body that breaks the schema.
  }
  return err({ code: 'unreachable', message: "The server's answer to /me is not the protocol's" });
}

/** `POST /logout`: the server ends the session and clears the cookie. */
export async function logout(deps: AuthClientDeps): Promise<Result<void, SignInFailure>> {
  const answer = await exchange(deps, 'logout', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: '{}',
  });
  if (!answer.ok) return answer;
  return answer.value.status === 204 ? ok(undefined) : err(await failureOf(deps, answer.value));
}
