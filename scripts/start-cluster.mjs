#!/usr/bin/env node
/**
 * `npm run start:cluster`: the sync server as a shop chain runs it, on one machine. A local PostgreSQL from
 * Debian's `postgresql` binaries (data under DATA_DIR/pg, default ./data/pg, loopback only), two server
 * instances on two free ports sharing its database, and a round-robin proxy on PORT (default 8080) in front;
 * and the server outbox's side (docs/server-outbox.md): Debian's `nats-server -js` on a loopback port with its
 * store under DATA_DIR/nats, the relay (`npm run relay`) and both consumer services (`npm run service`).
 * Ctrl-C (or SIGTERM) stops all of it. Every other setting (AUTH, SESSION_TTL, …) reaches every process.
 *
 *   PORT, HOST          where the proxy listens (127.0.0.1:8080)
 *   DATA_DIR            the cluster's folder is DATA_DIR/pg, the broker's DATA_DIR/nats
 *   PG_PORT             the cluster's port (a free one by default)
 *   NATS_PORT           the broker's port (a free one by default)
 *   --no-build          serve whatever dist/ holds (as npm start)
 */
import { execFileSync, spawn } from 'node:child_process';
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
// Stopped last: the relay and the services finish their batches while the broker is still there.
let broker = null;
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
  if (broker && broker.exitCode === null && broker.signalCode === null) {
    await new Promise((done) => {
      broker.once('exit', done);
      broker.kill('SIGTERM');
    });
  }
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

  const natsUrl = await startBroker();
  note('info', 'NATS JetStream is up', { url: natsUrl, store: join(dataDir, 'nats') });
  const shared = { ...process.env, DATABASE_URL: databaseUrl, NATS_URL: natsUrl };

  const origins = [];
  for (let index = 1; index <= INSTANCES; index += 1) {
    const instancePort = await freePort();
    const child = startChild(
      [join(root, 'src', 'server', 'node', 'main.ts')],
      {
        ...shared,
        PORT: String(instancePort),
        HOST: '127.0.0.1',
        // The proxy adds X-Forwarded-For and -Proto: believe exactly that one hop.
        TRUST_PROXY: '1',
      },
      `"instance":${index}`,
      'an instance stopped; the proxy sends everything to the other',
    );
    children.push(child);
    origins.push(`http://127.0.0.1:${instancePort}`);
  }
  children.push(
    startChild(
      [join(root, 'src', 'server', 'node', 'relay-main.ts')],
      shared,
      '"process":"relay"',
      'the relay stopped',
    ),
  );
  for (const service of ['notifications', 'analytics']) {
    children.push(
      startChild(
        [join(root, 'src', 'server', 'node', 'service-main.ts'), service],
        shared,
        `"process":"${service}"`,
        `the ${service} service stopped`,
      ),
    );
  }
  for (const origin of origins) await waitForHealth(origin);
  proxy = await startRoundRobinProxy({
    targets: origins,
    port,
    host,
    logger: ({ level, msg, ...fields }) => note(level, msg, fields),
  });
  note('info', 'cluster listening', {
    url: proxy.url,
    instances: origins.join(' '),
    postgres: databaseUrl,
    nats: natsUrl,
  });
} catch (error) {
  note('error', 'the cluster failed to start', {
    error: error instanceof Error ? error.message : String(error),
  });
  await stopAll(1);
}

/** A child process whose JSON log lines are marked with `mark` (which instance or process wrote them). */
function startChild(args, env, mark, whenItStops) {
  const child = spawn(process.execPath, ['--import', 'tsx', ...args], {
    cwd: root,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  for (const [stream, out] of [
    [child.stdout, process.stdout],
    [child.stderr, process.stderr],
  ]) {
    let buffered = '';
    stream.setEncoding('utf8').on('data', (chunk) => {
      buffered += chunk;
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) out.write(`${line.startsWith('{') ? `{${mark},${line.slice(1)}` : line}\n`);
    });
  }
  child.once('exit', (code, signal) => {
    if (!stopping) note('warn', whenItStops, { mark, code, signal });
  });
  return child;
}

/** Debian's nats-server with JetStream, loopback only, its store under DATA_DIR/nats; resolves its URL. */
async function startBroker() {
  try {
    execFileSync('nats-server', ['--version'], { stdio: 'ignore' });
  } catch {
    throw new Error('nats-server is not installed: apt-get install -y nats-server');
  }
  const natsPort = Number(process.env.NATS_PORT?.trim() || (await freePort()));
  const store = join(dataDir, 'nats');
  mkdirSync(store, { recursive: true });
  broker = spawn('nats-server', ['-js', '-sd', store, '-a', '127.0.0.1', '-p', String(natsPort)], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  broker.stderr.setEncoding('utf8').on('data', (chunk) => {
    stderr += chunk;
  });
  broker.once('exit', (code, signal) => {
    if (!stopping)
      note('warn', 'nats-server stopped; the outbox keeps every event until it is back', { code, signal });
  });
  const { createConnection } = await import('node:net');
  for (let attempt = 0; attempt < 200; attempt += 1) {
    if (broker.exitCode !== null) throw new Error(`nats-server exited: ${stderr}`);
    const up = await new Promise((done) => {
      const socket = createConnection({ port: natsPort, host: '127.0.0.1' });
      socket.once('connect', () => {
        socket.destroy();
        done(true);
      });
      socket.once('error', () => done(false));
    });
    if (up) return `nats://127.0.0.1:${natsPort}`;
    await new Promise((wait) => setTimeout(wait, 50));
  }
  throw new Error(`nats-server did not listen on ${natsPort}: ${stderr}`);
}

async function waitForHealth(origin) {
  for (let attempt = 0; attempt < 600; attempt += 1) {
    try {
      if ((await fetch(`${origin}/api/sync/health`)).ok) return;
    } catch {
      // not listening yet
    }
    if (children.some((child) => child.exitCode !== null))
      throw new Error('a process of the cluster exited during start-up');
    await new Promise((wait) => setTimeout(wait, 100));
  }
  throw new Error(`${origin} did not become healthy`);
}
