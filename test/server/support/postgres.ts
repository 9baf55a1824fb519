import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { type LocalPostgres, startLocalPostgres } from '../../../src/server/node/local-postgres';

/**
 * A PostgreSQL server for one test file: a throw-away cluster of its own on a free loopback port, or the
 * server TEST_DATABASE_URL names. A cluster per file, not one per run: PostgreSQL transaction ids are
 * cluster-wide, so a transaction another file holds open would hold this file's pulls back (that is the
 * design, docs/decisions.md 10) and make its timing depend on whatever runs beside it.
 * Missing binaries fail the file with the install command: these suites never skip.
 */
export interface TestPostgres {
  /** Its own cluster (null on TEST_DATABASE_URL): tests that stop and start PostgreSQL use it. */
  readonly cluster: LocalPostgres | null;
  /** A fresh, empty database; its URL. */
  createDatabase(): Promise<string>;
  /** A fresh, empty schema in one shared database, as a URL whose sessions use it (cheaper than a database). */
  createSchema(): Promise<string>;
  stop(): Promise<void>;
}

let counter = 0;
const uniqueName = (prefix: string): string => {
  counter += 1;
  return `${prefix}_${process.pid}_${Date.now().toString(36)}_${counter}`;
};

export async function startTestPostgres(): Promise<TestPostgres> {
  const external = process.env.TEST_DATABASE_URL?.trim();
  let cluster: LocalPostgres | null = null;
  let folder: string | null = null;
  let adminUrl: string;
  if (external) {
    adminUrl = external;
  } else {
    folder = mkdtempSync(join(tmpdir(), 'outpost-pg-'));
    // As root the cluster runs as the postgres user, which must be able to reach its folder.
    chmodSync(folder, 0o755);
    cluster = await startLocalPostgres({ dataDir: join(folder, 'pg'), noFsync: true });
    adminUrl = cluster.url();
  }
  const urlOf = (database: string) => {
    const url = new URL(adminUrl);
    url.pathname = `/${database}`;
    return url.toString();
  };
  const admin = async (sql: string, url = adminUrl) => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  let schemaHome: Promise<string> | null = null;
  const createDatabase = async () => {
    const name = uniqueName('outpost_test');
    await admin(`CREATE DATABASE ${name}`);
    return urlOf(name);
  };
  return {
    cluster,
    createDatabase,
    async createSchema() {
      schemaHome ??= createDatabase();
      const home = await schemaHome;
      const schema = uniqueName('s');
      await admin(`CREATE SCHEMA ${schema}`, home);
      const url = new URL(home);
      url.searchParams.set('options', `-c search_path=${schema}`);
      return url.toString();
    },
    async stop() {
      if (cluster) await cluster.stop('immediate').catch(() => undefined);
      if (folder) rmSync(folder, { recursive: true, force: true });
    },
  };
}
