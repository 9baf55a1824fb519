import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { Browser } from 'playwright-core';
import * as v from 'valibot';
import { type PullResponse, PullResponseSchema } from '../../../src/outbox/protocol/messages';
import type { ServerStats } from '../../../src/outbox/server/storage';
import { DATABASE_FILE } from '../../../src/server/node/config';
import {
  type ServerProcess,
  startServerProcess,
  stopAllServers,
  tempDir,
} from '../../server/support/server-process';
import { launchChromium } from './browser';
import { buildProductionOnce } from './build-demo';

/**
 * The second target of the browser suite: the production build (no mock, no `window.__outpost`) served with
 * its API by the real reference server in a child process, storing to SQLite in a temp folder.
 */

export const StatsSchema = v.object({
  eventsStored: v.number(),
  streams: v.number(),
  serverEvents: v.number(),
  serverEventsByType: v.record(v.string(), v.number()),
  duplicatesAnswered: v.number(),
});

/** One row of the server's `client_events` table, read from the file once the server has stopped. */
export interface StoredClientEvent {
  readonly eventId: string;
  readonly streamId: string;
  readonly version: number;
  readonly type: string;
  readonly clientId: string;
}

export interface ReferenceServer {
  /** e.g. http://127.0.0.1:41234, the app's origin and its sync API's. */
  readonly origin: string;
  readonly process: ServerProcess;
  stats(): Promise<ServerStats>;
  pull(clientId: string): Promise<PullResponse>;
  /** SIGTERM, then the exit code (0 when it shut down cleanly). */
  stop(): Promise<number | null>;
  /** What the SQLite file holds; call after `stop()` so nothing is mid-write. */
  storedClientEvents(): StoredClientEvent[];
}

/** Reference servers serving the production build; for tests that bring their own browser. */
export interface ReferenceServers {
  readonly distDir: string;
  /**
   * A fresh server (own port, own empty SQLite file) serving the production build. `behindProxy`: the app
   * reaches it through one reverse proxy (the fault proxy), whose forwarded headers it trusts (TRUST_PROXY=1).
   */
  startServer(options?: ServerOptions): Promise<ReferenceServer>;
  /** Stops every server started here and removes their temp folders. */
  close(): Promise<void>;
}

export interface ServerOptions {
  readonly behindProxy?: boolean;
}

export interface ReferenceHarness extends ReferenceServers {
  readonly browser: Browser;
  /** Stops every server this harness started, closes the browser and removes the temp folders. */
  close(): Promise<void>;
}

/** A GET of the sync API checked against its schema; `headers` carry credentials where the server needs them. */
export async function getJson<T>(
  url: string,
  schema: v.GenericSchema<unknown, T>,
  headers: Record<string, string> = {},
): Promise<T> {
  const response = await fetch(url, { headers });
  if (!response.ok) throw new Error(`GET ${url} answered ${response.status}: ${await response.text()}`);
  return v.parse(schema, await response.json());
}

/** Rows of the server's SQLite file in `dataDir`, read-only; call once the server has stopped. */
export function readServerFile<T>(dataDir: string, sql: string): T[] {
  const db = new Database(join(dataDir, DATABASE_FILE), { readonly: true, fileMustExist: true });
  try {
    return db.prepare<[], T>(sql).all();
  } finally {
    db.close();
  }
}

/** Builds the production app (once, into dist/) and launches the system Chromium. */
export async function startReferenceHarness(): Promise<ReferenceHarness> {
  const servers = startReferenceServers();
  const browser = await launchChromium();
  return {
    ...servers,
    browser,
    async close() {
      await browser.close().catch(() => undefined);
      await servers.close();
    },
  };
}

/** Builds the production app (once, into dist/); no browser. */
export function startReferenceServers(): ReferenceServers {
  const distDir = buildProductionOnce();
  const folders: { remove(): void }[] = [];
  return {
    distDir,
    async startServer({ behindProxy = false }: ServerOptions = {}) {
      const data = tempDir('browser-reference');
      folders.push(data);
      const process = await startServerProcess({
        dataDir: data.path,
        distDir,
        ...(behindProxy ? { env: { TRUST_PROXY: '1' } } : {}),
      });
      return {
        origin: process.origin,
        process,
        stats: () => getJson(`${process.baseUrl}/stats`, StatsSchema),
        pull: (clientId) =>
          getJson(`${process.baseUrl}/pull?clientId=${encodeURIComponent(clientId)}`, PullResponseSchema),
        async stop() {
          const { code } = await process.stop();
          return code;
        },
        storedClientEvents: () =>
          readServerFile<StoredClientEvent>(
            data.path,
            `SELECT event_id AS eventId, stream_id AS streamId, version, type, client_id AS clientId
             FROM client_events ORDER BY position`,
          ),
      };
    },
    async close() {
      await stopAllServers();
      for (const folder of folders) folder.remove();
    },
  };
}
