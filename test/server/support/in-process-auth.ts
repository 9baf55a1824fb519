import { ManualClock, uuidv7Generator } from '../../../src/outbox/ids';
import { type AuthHandler, createAuthHandler } from '../../../src/outbox/server/auth/auth-handler';
import type { AuthStore } from '../../../src/outbox/server/auth/auth-store';
import { createMemoryAuthStore } from '../../../src/outbox/server/auth/memory-auth-store';
import { createUserAccess, type LoginLimits } from '../../../src/outbox/server/auth/user-access';
import { createUserAdmin, type UserAdmin } from '../../../src/outbox/server/auth/user-admin';
import { type Connection, createOriginCheck, directConnection } from '../../../src/outbox/server/connection';
import { createSyncHandler } from '../../../src/outbox/server/http';
import { createMemoryStorage, type MemoryStorage } from '../../../src/outbox/server/memory-storage';
import { serverStreamTypes as streamTypes } from '../../../src/server-plugins';
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
    /** Serve the feed extension (on by default), and whether the shop shares its streams. */
    feed?: boolean;
    shareStreams?: boolean;
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
  const sync = createSyncHandler({
    streamTypes,
    storage,
    clock,
    ids,
    access,
    isForeignOrigin,
    feed: options.feed === false ? null : storage.feed,
    shareStreams: options.shareStreams === true,
  });
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
