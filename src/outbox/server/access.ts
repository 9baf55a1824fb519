/**
 * Who a sync request acts for. The sync handler asks a `SyncAccess` and scopes by the answer; how
 * credentials are checked (nothing, a shared token, users with sessions and device tokens) is the
 * access's business.
 */

/**
 * `owner` is the signed-in user the request acts for: pushes claim clientIds and streams for them and
 * pulls see only their streams. `null` acts for nobody in particular and is not scoped, as protocol v1
 * without users always was.
 */
export interface Principal {
  readonly owner: string | null;
}

export interface SyncAccess {
  /** The principal the request's credentials name, or `null` when they name nobody (answered `401`). */
  identify(request: Request): Promise<Principal | null>;
}

const UNSCOPED: Principal = { owner: null };

/** Anyone may sync, unscoped: the reference server's `AUTH=none` and the mock's default. */
export const openAccess: SyncAccess = { identify: async () => UNSCOPED };

/** One secret for every client, unscoped: the mock backend's `token` option (a 401 to test clients against). */
export function sharedTokenAccess(token: string): SyncAccess {
  return {
    identify: async (request) => {
      const given = bearerToken(request);
      return typeof given === 'string' && constantTimeEqual(given, token) ? UNSCOPED : null;
    },
  };
}

/**
 * The token of `Authorization: Bearer <token>`; `undefined` without an Authorization header, `null` with
 * one that is not a bearer token (which must not fall back to other credentials).
 */
export function bearerToken(request: Request): string | null | undefined {
  const header = request.headers.get('authorization');
  if (header === null) return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1] ?? null;
}

/** Compares without stopping at the first difference, so response time does not reveal the token. */
export function constantTimeEqual(given: string, expected: string): boolean {
  let difference = given.length ^ expected.length;
  for (let index = 0; index < expected.length; index += 1) {
    difference |= (given.charCodeAt(index) || 0) ^ expected.charCodeAt(index);
  }
  return difference === 0;
}
