import { ManualClock, uuidv7Generator } from '../../../src/platform/ids';
import { type AuthHandler, createAuthHandler } from '../../../src/server/core/auth/auth-handler';
import type { AuthStore } from '../../../src/server/core/auth/auth-store';
import { createMemoryAuthStore } from '../../../src/server/core/auth/memory-auth-store';
import { createUserAccess, type LoginLimits } from '../../../src/server/core/auth/user-access';
import { createUserAdmin, type UserAdmin } from '../../../src/server/core/auth/user-admin';
import { type Connection, createOriginCheck, directConnection } from '../../../src/server/core/connection';
import { createSyncHandler } from '../../../src/server/core/http';
import { createMemoryStorage, type MemoryStorage } from '../../../src/server/core/memory-storage';
import { fakeAuthCrypto } from './fake-auth-crypto';

export const ORIGIN = 'http://outpost.test';

export interface InProcessUsersServer {
  /** Routes /api/auth/* and /api/sync/* the way the Node app does, with the socket address given. */
  fetch(request: Request, remoteAddress?: string): Promise<Response>;
  readonly clock: ManualClock;
  readonly storage: MemoryStorage;
  readonly store: AuthStore;
  readonly admin: UserAdmin;
  readonly calls: { hash: number; verify: number };
}

/** The core's AUTH=users server in memory: the same handlers as the Node app, a fake KDF and a manual clock. */
export function inProcessUsersServer(
  options: {
    sessionTtlMs?: number;
    limits?: LoginLimits;
    corsOrigins?: string[];
    secureCookie?: 'https' | 'always';
    connection?: Connection;
  } = {},
): InProcessUsersServer {
  const clock = new ManualClock();
  const ids = uuidv7Generator(clock);
  const storage = createMemoryStorage();
  const store = createMemoryAuthStore();
  const { crypto, calls } = fakeAuthCrypto();
  const connection = options.connection ?? directConnection;
  const access = createUserAccess({
    store,
    crypto,
    clock,
    ...(options.sessionTtlMs === undefined ? {} : { sessionTtlMs: options.sessionTtlMs }),
    ...(options.limits === undefined ? {} : { limits: options.limits }),
  });
  const isForeignOrigin = createOriginCheck(connection, options.corsOrigins ?? []);
  const sync = createSyncHandler({ storage, clock, ids, access, isForeignOrigin });
  const auth: AuthHandler = createAuthHandler({
    access,
    connection,
    isForeignOrigin,
    ...(options.secureCookie === undefined ? {} : { secureCookie: options.secureCookie }),
  });
  return {
    fetch: (request, remoteAddress = '192.0.2.1') =>
      new URL(request.url).pathname.startsWith('/api/auth/')
        ? auth(request, { remoteAddress })
        : sync(request),
    clock,
    storage,
    store,
    admin: createUserAdmin({ store, crypto, clock }),
    calls,
  };
}
