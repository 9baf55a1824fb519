import { type PullResponse, PullResponseSchema } from '../../../src/outbox/protocol/messages';
import type { ServerStats } from '../../../src/outbox/server/storage';
import {
  runUserCommand,
  type ServerProcess,
  startServerProcess,
  stopAllServers,
  tempDir,
} from '../../server/support/server-process';
import { buildProductionOnce } from './build-demo';
import { getJson, readServerFile, StatsSchema, type StoredClientEvent } from './reference-server';

/**
 * The reference server with users (`AUTH=users`) serving the production build: users are made with the
 * real CLI (`scripts/user.mjs add <name>`, password on stdin) on the server's own data folder, and the test
 * asks the server what it stored the way any machine client would, signed in over HTTP with a session of its
 * own (which leaves the browser's session alone).
 */

/** One stored client event with whom the server gave its stream and its clientId to. */
export interface OwnedClientEvent extends StoredClientEvent {
  /** `stream_owners.username`: the user who created the stream (null: stored without users). */
  readonly streamOwner: string | null;
  /** `client_owners.username`: the user who first pushed under the clientId. */
  readonly clientOwner: string | null;
}

/** A session of the test's own on the server, for reading what it stored (every sync route needs one). */
export interface ApiSession {
  readonly username: string;
  stats(): Promise<ServerStats>;
  /** A pull as this user, naming `clientId` (scoped: only this user's streams among those the client pushed). */
  pull(clientId: string): Promise<PullResponse>;
}

export interface UsersServer {
  /** e.g. http://127.0.0.1:41234: the app's origin (unless a proxy stands in front) and its API's. */
  readonly origin: string;
  readonly process: ServerProcess;
  /** Signs in over HTTP (no Origin header, so judged by the credentials alone). */
  signIn(username: string, password: string): Promise<ApiSession>;
  /** One sign-in attempt over HTTP, its session dropped: the answer's status (204, 401, 429…). */
  attemptSignIn(username: string, password: string): Promise<number>;
  /** SIGTERM, then the exit code (0 when it shut down cleanly). */
  stop(): Promise<number | null>;
  /** What the SQLite file holds, with owners; call after `stop()` so nothing is mid-write. */
  storedClientEvents(): OwnedClientEvent[];
}

export interface UsersServerOptions {
  /** username → password, added with the real CLI before the server starts. */
  readonly users: Readonly<Record<string, string>>;
  /** Reached through one reverse proxy (the fault proxy), whose forwarded headers it trusts (TRUST_PROXY=1). */
  readonly behindProxy?: boolean;
}

export interface UsersServers {
  readonly distDir: string;
  /** A fresh server (own port, own empty SQLite file, the given users) with AUTH=users. */
  startServer(options: UsersServerOptions): Promise<UsersServer>;
  /** Stops every server started here and removes their temp folders. */
  close(): Promise<void>;
}

const SESSION_COOKIE = /^outpost_session=([^;]*)/;

async function addUser(dataDir: string, username: string, password: string): Promise<void> {
  const added = await runUserCommand(dataDir, ['add', username], { stdin: `${password}\n` });
  if (added.code !== 0) throw new Error(`user add ${username} failed (${added.code}): ${added.stderr}`);
}

/** Builds the production app (once, into dist/); no browser. */
export function startUsersServers(): UsersServers {
  const distDir = buildProductionOnce();
  const folders: { remove(): void }[] = [];
  return {
    distDir,
    async startServer({ users, behindProxy = false }) {
      const data = tempDir('browser-users');
      folders.push(data);
      // Each CLI run opens the same file; the schema migration is safe to race, the inserts wait their turn.
      for (const [username, password] of Object.entries(users)) await addUser(data.path, username, password);
      const process = await startServerProcess({
        dataDir: data.path,
        distDir,
        auth: 'users',
        ...(behindProxy ? { env: { TRUST_PROXY: '1' } } : {}),
      });
      const { baseUrl, origin } = process;
      const login = (username: string, password: string) =>
        fetch(`${origin}/api/auth/login`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ username, password }),
        });
      return {
        origin,
        process,
        async attemptSignIn(username, password) {
          const response = await login(username, password);
          await response.arrayBuffer();
          return response.status;
        },
        async signIn(username, password) {
          const response = await login(username, password);
          const session = SESSION_COOKIE.exec(response.headers.get('set-cookie') ?? '')?.[1];
          if (response.status !== 204 || !session) {
            throw new Error(`login as ${username} answered ${response.status}: ${await response.text()}`);
          }
          const cookie = `outpost_session=${session}`;
          return {
            username,
            stats: () => getJson(`${baseUrl}/stats`, StatsSchema, { cookie }),
            pull: (clientId) =>
              getJson(`${baseUrl}/pull?clientId=${encodeURIComponent(clientId)}`, PullResponseSchema, {
                cookie,
              }),
          };
        },
        async stop() {
          const { code } = await process.stop();
          return code;
        },
        storedClientEvents: () =>
          readServerFile<OwnedClientEvent>(
            data.path,
            `SELECT e.event_id AS eventId, e.stream_id AS streamId, e.version, e.type,
                    e.client_id AS clientId, s.username AS streamOwner, c.username AS clientOwner
             FROM client_events e
             LEFT JOIN stream_owners s ON s.stream_id = e.stream_id
             LEFT JOIN client_owners c ON c.client_id = e.client_id
             ORDER BY e.position`,
          ),
      };
    },
    async close() {
      await stopAllServers();
      for (const folder of folders) folder.remove();
    },
  };
}
