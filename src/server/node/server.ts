import { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { serve } from '@hono/node-server';
import { type Clock, type IdGenerator, newId, systemClock } from '../../outbox/ids';
import {
  type AuthCrypto,
  type AuthStore,
  behindProxies,
  createFeedSignal,
  createUserAccess,
  directConnection,
  type FeedStorage,
  type ServerStorage,
} from '../../outbox/server';
import { createApp } from './app';
import { type OutboxConfig, parseOutboxConfig } from './broker-config';
import { DATABASE_FILE, type ServerConfig } from './config';
import { type Logger, silentLogger } from './log';
import { createNodeAuthCrypto } from './node-auth-crypto';
import { openOutboxSide } from './outbox-side';
import { createPgAuthStore } from './pg-auth-store';
import { createPgStorage } from './pg-storage';
import { createSqliteAuthStore } from './sqlite-auth-store';
import { createSqliteStorage } from './sqlite-storage';

export interface RunningServer {
  /** Where it listens, e.g. `http://127.0.0.1:8080` (the real port when 0 was asked for). */
  readonly url: string;
  readonly port: number;
  /**
   * Stops accepting connections, lets requests in flight finish (a push already inside its SQLite
   * transaction always commits and is answered), then closes the database. Connections still busy after
   * `shutdownGraceMs` are cut; resolves `false` in that case.
   */
  close(): Promise<boolean>;
}

export interface ServerDeps {
  readonly logger?: Logger;
  readonly clock?: Clock;
  readonly ids?: IdGenerator;
  /** Defaults to SQLite in `config.dataDir`. */
  readonly storage?: ServerStorage;
  /** The feed of a given `storage`; null serves protocol v1 only. Defaults to the default storage's. */
  readonly feed?: FeedStorage | null;
  /** AUTH=users only; defaults to SQLite in the same file as the storage. */
  readonly authStore?: AuthStore;
  readonly authCrypto?: AuthCrypto;
  /** The server outbox's settings (NATS_URL, …); no broker when absent. */
  readonly outbox?: OutboxConfig;
}

/** SQLite in DATA_DIR, or PostgreSQL with DATABASE_URL; the auth store beside the storage (AUTH=users). */
async function openStores(
  config: ServerConfig,
  deps: ServerDeps,
  logger: Logger,
  clock: Clock,
): Promise<{ storage: ServerStorage; feed: FeedStorage | null; authStore: AuthStore | null }> {
  const users = config.auth === 'users';
  const { database } = config;
  if (database === null) {
    const file = join(config.dataDir, DATABASE_FILE);
    const sqlite = deps.storage ? null : createSqliteStorage({ file, clock });
    return {
      storage: deps.storage ?? (sqlite as ServerStorage),
      feed: deps.feed !== undefined ? deps.feed : (sqlite?.feed ?? null),
      authStore: users ? (deps.authStore ?? createSqliteAuthStore({ file })) : null,
    };
  }
  const settings = {
    url: database.url,
    poolSize: database.poolSize,
    statementTimeoutMs: database.statementTimeoutMs,
    transactionTimeoutMs: database.transactionTimeoutMs,
  };
  const pgStorage = deps.storage
    ? null
    : await createPgStorage({
        ...settings,
        clock,
        logger,
        openTransactionBoundMs: database.openTransactionWarnMs,
      });
  const storage = deps.storage ?? (pgStorage as ServerStorage);
  const feed = deps.feed !== undefined ? deps.feed : (pgStorage?.feed ?? null);
  try {
    const authStore = users
      ? (deps.authStore ??
        (await createPgAuthStore({
          ...settings,
          onConnectionLost: (error) =>
            logger({ level: 'warn', msg: 'a pooled PostgreSQL connection was lost', error: error.message }),
        })))
      : null;
    return { storage, feed, authStore };
  } catch (error) {
    await storage.close();
    throw error;
  }
}

export async function startServer(config: ServerConfig, deps: ServerDeps = {}): Promise<RunningServer> {
  const logger = deps.logger ?? silentLogger;
  const clock = deps.clock ?? systemClock;
  const { storage, feed, authStore } = await openStores(config, deps, logger, clock);
  const feedSignal =
    feed &&
    createFeedSignal({
      feed,
      pollMs: config.feedPollMs,
      onError: (error) =>
        logger({
          level: 'warn',
          msg: 'the live channel could not read the feed; it tries again',
          error: error instanceof Error ? error.message : String(error),
        }),
    });
  // A storage handed in (tests, embedders) brings no outbox side: its tables may not exist.
  const outboxSide = deps.storage
    ? null
    : openOutboxSide(config, deps.outbox ?? parseOutboxConfig({}), clock, logger);
  const closeStores = async (): Promise<void> => {
    await outboxSide?.close();
    await Promise.all([storage.close(), authStore?.close()]);
  };
  const access =
    authStore &&
    createUserAccess({
      store: authStore,
      crypto: deps.authCrypto ?? createNodeAuthCrypto(),
      clock,
      sessionTtlMs: config.sessionTtlMs,
    });
  const app = createApp({
    storage,
    clock,
    ids: deps.ids ?? newId,
    distDir: config.distDir,
    users: access && { access, alwaysSecureCookie: config.cookieSecure },
    connection: config.trustProxyHops > 0 ? behindProxies(config.trustProxyHops) : directConnection,
    corsOrigin: config.corsOrigins,
    maxBodyBytes: config.maxBodyBytes,
    logger,
    feed,
    ...(feedSignal ? { feedSignal } : {}),
    shareStreams: config.streamSharing === 'shop',
    moreStats: outboxSide?.moreStats,
    analytics: outboxSide?.analytics,
  });
  if (authStore && (await authStore.listUsers(clock.now())).length === 0) {
    logger({
      level: 'warn',
      msg: 'AUTH=users but there are no users yet: nobody can sync until one is added (npm run user -- add <name>)',
    });
  }

  const { server, address } = await new Promise<{ server: Server; address: AddressInfo }>(
    (resolve, reject) => {
      const started = serve({ fetch: app.fetch, port: config.port, hostname: config.host }, (info) => {
        // serve() without createServer options builds a plain node:http server.
        if (started instanceof Server) resolve({ server: started, address: info });
        else reject(new Error('Expected a node:http server'));
      });
      started.once('error', reject);
    },
  ).catch(async (error: unknown) => {
    await closeStores();
    throw error;
  });
  const { port } = address;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;

  let closing: Promise<boolean> | null = null;
  const close = (): Promise<boolean> => {
    closing ??= new Promise<boolean>((resolve) => {
      let clean = true;
      // Live channels never end on their own: end them, so only real requests hold the shutdown.
      feedSignal?.close();
      // Keep-alive sockets between requests would hold close() open forever: drop them as they go idle.
      const sweep = setInterval(() => server.closeIdleConnections(), 50);
      const cut = setTimeout(() => {
        clean = false;
        server.closeAllConnections();
      }, config.shutdownGraceMs);
      server.close(() => {
        clearInterval(sweep);
        clearTimeout(cut);
        // Only now: every request that reached the storage has been answered.
        closeStores().then(
          () => resolve(clean),
          (error: unknown) => {
            logger({ level: 'error', msg: 'closing storage failed', error: String(error) });
            resolve(false);
          },
        );
      });
      server.closeIdleConnections();
    });
    return closing;
  };

  return { url: `http://${host}:${port}`, port, close };
}
