#!/usr/bin/env node
/**
 * Throughput of the reference server over real HTTP on 127.0.0.1 (informational; numbers go to
 * docs/server.md). Starts `node --import tsx src/server/node/main.ts` on a fresh temp data dir, then
 * CLIENTS concurrent clients each send PUSHES pushes of BATCH events (whole orders: created, two lines,
 * placed, so every fourth event also makes the server write a confirmation), each waiting for its answer.
 *
 *   node scripts/bench-server.mjs [--clients 4] [--pushes 100] [--batch 100]
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const arg = (name, fallback) => {
  const at = process.argv.indexOf(`--${name}`);
  return at === -1 ? fallback : Number(process.argv[at + 1]);
};
const CLIENTS = arg('clients', 4);
const PUSHES = arg('pushes', 100);
const BATCH = arg('batch', 100);
const WARMUP = 10;

// Time-ordered ids like the app's UUIDv7: index inserts land at the end of the B-tree, as in real use.
function randomUUID() {
  const ms = Date.now().toString(16).padStart(12, '0');
  const r = randomBytes(10).toString('hex');
  const variant = ((Number.parseInt(r[3], 16) & 0x3) | 0x8).toString(16);
  return `${ms.slice(0, 8)}-${ms.slice(8)}-7${r.slice(0, 3)}-${variant}${r.slice(4, 7)}-${r.slice(7, 19)}`;
}

const freePort = () =>
  new Promise((done) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => done(port));
    });
  });

function orderEvents(clientId) {
  const orderId = randomUUID();
  const streamId = `order-${orderId}`;
  let version = 0;
  const event = (type, data) => ({
    eventId: randomUUID(),
    streamId,
    version: ++version,
    type,
    schemaVersion: 1,
    data,
    metadata: {
      commandId: randomUUID(),
      correlationId: randomUUID(),
      causationId: null,
      occurredAt: new Date().toISOString(),
      clientId,
    },
  });
  return [
    event('OrderCreated', { orderId, customerName: 'Bench Customer', currency: 'EUR' }),
    event('ProductAdded', { sku: 'WIDGET-1', name: 'Widget', quantity: 2, unitPrice: 1250 }),
    event('ProductAdded', { sku: 'BOLT-7', name: 'Bolt', quantity: 10, unitPrice: 35 }),
    event('OrderPlaced', { total: 2850, lineCount: 2 }),
  ];
}

function batchFor(clientId) {
  const events = [];
  while (events.length < BATCH) events.push(...orderEvents(clientId));
  return events.slice(0, BATCH - (BATCH % 4 === 0 ? 0 : BATCH % 4));
}

const dataDir = mkdtempSync(join(tmpdir(), 'outpost-bench-'));
const port = await freePort();
const server = spawn(process.execPath, ['--import', 'tsx', 'src/server/node/main.ts'], {
  cwd: root,
  env: { ...process.env, PORT: String(port), DATA_DIR: dataDir, DIST_DIR: 'none' },
  stdio: 'ignore',
});
const base = `http://127.0.0.1:${port}/api/sync`;

try {
  for (let attempt = 0; ; attempt += 1) {
    try {
      if ((await fetch(`${base}/health`)).ok) break;
    } catch {}
    if (attempt > 400) throw new Error('server did not start');
    await new Promise((wait) => setTimeout(wait, 50));
  }

  const pushOnce = async (clientId, events) => {
    const batchId = randomUUID();
    const response = await fetch(`${base}/push`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': batchId },
      body: JSON.stringify({ protocol: 1, clientId, batchId, events }),
    });
    const answer = await response.json();
    if (response.status !== 200 || answer.results.some((result) => result.status !== 'accepted')) {
      throw new Error(`push failed: ${response.status} ${JSON.stringify(answer).slice(0, 300)}`);
    }
  };

  const clients = Array.from({ length: CLIENTS }, () => randomUUID());
  for (const clientId of clients)
    for (let i = 0; i < WARMUP; i += 1) await pushOnce(clientId, batchFor(clientId));

  // Batches are built before the clock starts: only the server and the HTTP round trip are measured.
  const work = clients.map((clientId) => ({
    clientId,
    batches: Array.from({ length: PUSHES }, () => batchFor(clientId)),
  }));
  const latencies = [];
  const started = performance.now();
  await Promise.all(
    work.map(async ({ clientId, batches }) => {
      for (const events of batches) {
        const sent = performance.now();
        await pushOnce(clientId, events);
        latencies.push(performance.now() - sent);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const pick = (q) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))].toFixed(1);
  const pushes = CLIENTS * PUSHES;
  const events = pushes * work[0].batches[0].length;
  console.log(
    JSON.stringify(
      {
        clients: CLIENTS,
        batch: work[0].batches[0].length,
        pushes,
        events,
        seconds: Number(seconds.toFixed(2)),
        pushesPerSecond: Math.round(pushes / seconds),
        eventsPerSecond: Math.round(events / seconds),
        latencyMs: { p50: Number(pick(0.5)), p95: Number(pick(0.95)), max: Number(pick(1)) },
      },
      null,
      2,
    ),
  );
} finally {
  server.kill('SIGTERM');
  await new Promise((done) => server.once('exit', done));
  rmSync(dataDir, { recursive: true, force: true });
}
