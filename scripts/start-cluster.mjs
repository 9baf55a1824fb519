#!/usr/bin/env node
/**
 * `npm run start:cluster`: the sync server as a shop chain runs it, on one machine. A local PostgreSQL from
 * Debian's `postgresql` binaries (data under DATA_DIR/pg, default ./data/pg, loopback only), two server
 * instances on two free ports sharing its database, and a round-robin proxy on PORT (default 8080) in front.
 * Ctrl-C (or SIGTERM) stops all of it. Every other setting (AUTH, SESSION_TTL, …) reaches both instances.
 *
 *   PORT, HOST          where the proxy listens (127.0.0.1:8080)
 *   DATA_DIR            the cluster's folder is DATA_DIR/pg
 *   PG_PORT             the cluster's port (a free one by default)
 *   --no-build          serve whatever dist/ holds (as npm start)
 */
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { buildAppIfStale, note } from './build-if-stale.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { register } = await import('tsx/esm/api');
register();
const load = (file) => import(pathToFileURL(join(root, 'src', 'server', 'node', file)).href);
const { startLocalPostgres, freePort } = await load('local-postgres.ts');
const { startRoundRobinProxy } = await load('round-robin-proxy.ts');
const pg = (await import('pg')).default;

const INSTANCES = 2;
const dataDir = resolve(process.cwd(), process.env.DATA_DIR?.trim() || 'data');
mkdirSync(dataDir, { recursive: true });
const host = process.env.HOST?.trim() || '127.0.0.1';
const port = Number(process.env.PORT?.trim() || 8080);

const children = [];
let postgres = null;
let proxy = null;
let stopping = false;

async function stopAll(code) {
  if (stopping) return;
  stopping = true;
  note('info', 'stopping the cluster');
  await proxy?.close();
  await Promise.all(
    children.map(
      (child) =>
        new Promise((done) => {
          if (child.exitCode !== null || child.signalCode !== null) return done();
          child.once('exit', done);
          child.kill('SIGTERM');
        }),
    ),
  );
  await postgres
    ?.stop('fast')
    .catch((error) => note('error', 'stopping PostgreSQL failed', { error: error.message }));
  note('info', 'stopped');
  process.exit(code);
}
process.once('SIGINT', () => void stopAll(0));
process.once('SIGTERM', () => void stopAll(0));

try {
  postgres = await startLocalPostgres({
    dataDir: join(dataDir, 'pg'),
    ...(process.env.PG_PORT ? { port: Number(process.env.PG_PORT) } : {}),
  });
  note('info', 'PostgreSQL is up', { dataDir: postgres.dataDir, port: postgres.port });
  const admin = new pg.Client({ connectionString: postgres.url() });
  await admin.connect();
  const exists = await admin.query("SELECT 1 FROM pg_database WHERE datname = 'outpost'");
  if (exists.rowCount === 0) await admin.query('CREATE DATABASE outpost');
  await admin.end();
  const databaseUrl = postgres.url('outpost');

  buildAppIfStale(root);

  const origins = [];
  for (let index = 1; index <= INSTANCES; index += 1) {
    const instancePort = await freePort();
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', join(root, 'src', 'server', 'node', 'main.ts')],
      {
        cwd: root,
        env: {
          ...process.env,
          DATABASE_URL: databaseUrl,
          PORT: String(instancePort),
          HOST: '127.0.0.1',
          // The proxy adds X-Forwarded-For and -Proto: believe exactly that one hop.
          TRUST_PROXY: '1',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    // Each instance's JSON log lines, marked with which instance wrote them.
    for (const [stream, out] of [
      [child.stdout, process.stdout],
      [child.stderr, process.stderr],
    ]) {
      let buffered = '';
      stream.setEncoding('utf8').on('data', (chunk) => {
        buffered += chunk;
        const lines = buffered.split('\n');
        buffered = lines.pop() ?? '';
        for (const line of lines)
          out.write(`${line.startsWith('{') ? `{"instance":${index},${line.slice(1)}` : line}\n`);
      });
    }
    child.once('exit', (code, signal) => {
      if (!stopping)
        note('warn', 'an instance stopped; the proxy sends everything to the other', {
          instance: index,
          code,
          signal,
        });
    });
    children.push(child);
    origins.push(`http://127.0.0.1:${instancePort}`);
  }
  for (const origin of origins) await waitForHealth(origin);
  proxy = await startRoundRobinProxy({
    targets: origins,
    port,
    host,
    logger: ({ level, msg, ...fields }) => note(level, msg, fields),
  });
  note('info', 'cluster listening', { url: proxy.url, instances: origins.join(' '), postgres: databaseUrl });
} catch (error) {
  note('error', 'the cluster failed to start', {
    error: error instanceof Error ? error.message : String(error),
  });
  await stopAll(1);
}

async function waitForHealth(origin) {
  for (let attempt = 0; attempt < 600; attempt += 1) {
    try {
      if ((await fetch(`${origin}/api/sync/health`)).ok) return;
    } catch {
      // not listening yet
    }
    if (children.some((child) => child.exitCode !== null))
      throw new Error('an instance exited during start-up');
    await new Promise((wait) => setTimeout(wait, 100));
  }
  throw new Error(`${origin} did not become healthy`);
}
