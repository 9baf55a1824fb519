#!/usr/bin/env node
/**
 * `npm run bench:server`: push and pull throughput of the real server over HTTP on 127.0.0.1, in one run on
 * one machine, for 1 instance on SQLite, 1 on PostgreSQL, 2 on PostgreSQL (one database), and the floor:
 * the same rows inserted by a bare `pg` client, one transaction per batch. Informational (figures go to
 * docs/server.md); not part of `npm test`.
 *
 * CLIENTS concurrent clients each send PUSHES pushes of BATCH events (whole orders: created, two lines,
 * placed, so every fourth event also makes the server write a confirmation), each waiting for its answer,
 * after WARMUP pushes each. Meanwhile PULLERS clients pull the decisions of pushing clients from their
 * cursors, as devices do, until the pushes end. PostgreSQL runs with fsync on (as SQLite runs FULL).
 * Also reports the CPU each part used (cores busy on average), to say what limits the figures.
 *
 *   node scripts/bench-server.mjs [--clients 8] [--pushes 20] [--rounds 3] [--batch 100] [--pullers 2] [--warmup 5]
 *                                 [--sync-only | --outbox-only] [--outbox-seconds 10] [--relay-rows 20000]
 *
 * Then the server outbox (scripts/bench-outbox.mjs, docs/server-outbox.md): accept-to-effect latency at a
 * steady 200 and 2,000 events/s, and the relay's throughput against a bare JetStream publish loop.
 *
 * Each round runs every mode once, one after another; the ratios are medians of the ratios within rounds.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const arg = (name, fallback) => {
  const at = process.argv.indexOf(`--${name}`);
  return at === -1 ? fallback : Number(process.argv[at + 1]);
};
const CLIENTS = arg('clients', 8);
const PUSHES = arg('pushes', 20);
const ROUNDS = arg('rounds', 3);
const BATCH = arg('batch', 100);
const PULLERS = arg('pullers', 2);
const WARMUP = arg('warmup', 5);
const TICKS_PER_SECOND = 100;

const { register } = await import('tsx/esm/api');
register();
const loadModule = (file) => import(pathToFileURL(join(root, 'src', 'server', 'node', file)).href);
const { startLocalPostgres, freePort } = await loadModule('local-postgres.ts');
const { createPgPool, migratePg } = await loadModule('pg-database.ts');
const pg = (await import('pg')).default;

// Time-ordered ids like the app's UUIDv7: index inserts land at the end of the B-tree, as in real use.
function randomUUID() {
  const ms = Date.now().toString(16).padStart(12, '0');
  const r = randomBytes(10).toString('hex');
  const variant = ((Number.parseInt(r[3], 16) & 0x3) | 0x8).toString(16);
  return `${ms.slice(0, 8)}-${ms.slice(8)}-7${r.slice(0, 3)}-${variant}${r.slice(4, 7)}-${r.slice(7, 19)}`;
}

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
  while (events.length + 4 <= BATCH) events.push(...orderEvents(clientId));
  return events;
}

/** CPU seconds a process (and the children it waited for) used so far; 0 once it is gone. */
function cpuSeconds(pid, withChildren = false) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // Fields 14-17 of stat (utime, stime, cutime, cstime) are 11-14 here, counted from field 3.
    const own = Number(fields[11]) + Number(fields[12]);
    const children = withChildren ? Number(fields[13]) + Number(fields[14]) : 0;
    return (own + children) / TICKS_PER_SECOND;
  } catch {
    return 0;
  }
}

/** The postmaster and its live backends: their CPU, plus the backends that already exited. */
function postgresCpu(dataDir) {
  const postmaster = Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  let total = cpuSeconds(postmaster, true);
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === postmaster) total += cpuSeconds(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return total;
}

const benchCpu = () => {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1e6;
};

async function startInstance(env) {
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server/node/main.ts'], {
    cwd: root,
    env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', DIST_DIR: 'none', ...env },
    stdio: 'ignore',
  });
  const base = `http://127.0.0.1:${port}/api/sync`;
  for (let attempt = 0; ; attempt += 1) {
    try {
      if ((await fetch(`${base}/health`)).ok) break;
    } catch {}
    if (attempt > 600) throw new Error('server did not start');
    await new Promise((wait) => setTimeout(wait, 50));
  }
  return {
    base,
    pid: child.pid,
    stop: () =>
      new Promise((done) => {
        child.once('exit', done);
        child.kill('SIGTERM');
      }),
  };
}

const pick = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
const round = (value, digits = 0) => Number(value.toFixed(digits));

/**
 * Runs the load: `send(clientIndex, events)` performs one push. Pullers (when `pull` is given) follow the
 * first PULLERS clients, pulling from their cursors until the pushes end.
 */
async function runLoad(send, pull, cpuOf) {
  const clients = Array.from({ length: CLIENTS }, () => randomUUID());
  for (let i = 0; i < WARMUP; i += 1)
    await Promise.all(clients.map((clientId, index) => send(index, clientId, batchFor(clientId))));
  // Batches are built before the clock starts: only the server and the round trip are measured.
  const work = clients.map((clientId) => Array.from({ length: PUSHES }, () => batchFor(clientId)));
  const latencies = [];
  let pushing = true;
  let pulls = 0;
  let pulled = 0;
  const cpuBefore = cpuOf();
  const started = performance.now();
  const pullers = pull
    ? clients.slice(0, PULLERS).map(async (clientId, index) => {
        let cursor = '0';
        while (pushing) {
          const page = await pull(index, clientId, cursor);
          pulls += 1;
          pulled += page.serverEvents.length;
          cursor = page.cursor;
          if (!page.hasMore) await new Promise((wait) => setTimeout(wait, 5));
        }
      })
    : [];
  await Promise.all(
    work.map(async (batches, index) => {
      for (const events of batches) {
        const sent = performance.now();
        await send(index, clients[index], events);
        latencies.push(performance.now() - sent);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  pushing = false;
  await Promise.all(pullers);
  const cpuAfter = cpuOf();
  latencies.sort((a, b) => a - b);
  const pushes = CLIENTS * PUSHES;
  const cores = Object.fromEntries(
    Object.keys(cpuAfter).map((part) => [part, round((cpuAfter[part] - cpuBefore[part]) / seconds, 2)]),
  );
  return {
    pushesPerSecond: round(pushes / seconds),
    eventsPerSecond: round((pushes * work[0][0].length) / seconds),
    latencyMs: { p50: round(pick(latencies, 0.5), 1), p99: round(pick(latencies, 0.99), 1) },
    ...(pull
      ? { pullsPerSecond: round(pulls / seconds), pulledEventsPerSecond: round(pulled / seconds) }
      : {}),
    coresBusy: cores,
  };
}

async function httpPush(base, clientId, events) {
  const response = await fetch(`${base}/push`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ protocol: 1, clientId, batchId: randomUUID(), events }),
  });
  const answer = await response.json();
  if (response.status !== 200 || answer.results.some((result) => result.status !== 'accepted')) {
    throw new Error(`push failed: ${response.status} ${JSON.stringify(answer).slice(0, 300)}`);
  }
}

async function httpPull(base, clientId, cursor) {
  const response = await fetch(`${base}/pull?clientId=${clientId}&since=${cursor}`);
  if (response.status !== 200) throw new Error(`pull failed: ${response.status}`);
  return response.json();
}

async function benchInstances(instances, cpuOf) {
  const at = (index) => instances[index % instances.length].base;
  return runLoad(
    (index, clientId, events) => httpPush(at(index), clientId, events),
    // A puller asks the instance its client does not push to: reads cross instances.
    (index, clientId, cursor) => httpPull(at(index + 1), clientId, cursor),
    cpuOf,
  );
}

/** The floor: what the database alone costs for the rows one push stores, one transaction per batch. */
async function benchFloor(pool, cpuOf) {
  const result = await runLoad(
    async (_index, clientId, events) => {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        // The same statements the PostgreSQL storage sends for these rows.
        await client.query(
          `INSERT INTO client_events (event_id, stream_id, version, type, body, client_id, received_at)
           SELECT r."eventId", r."streamId", r.version, r.type, a.e::text, $2, $3
           FROM json_array_elements($1::json) WITH ORDINALITY AS a(e, ord)
           CROSS JOIN LATERAL json_to_record(a.e) AS r("eventId" text, "streamId" text, version integer, type text)
           ORDER BY a.ord`,
          [JSON.stringify(events), clientId, Date.now()],
        );
        const placed = events.filter((event) => event.type === 'OrderPlaced');
        const seqs = await client.query(
          "SELECT nextval('server_seq') AS seq FROM generate_series(1, $1::integer)",
          [placed.length],
        );
        const decisions = placed.map((event, index) => ({
          serverSeq: seqs.rows[index].seq,
          body: {
            eventId: randomUUID(),
            streamId: event.streamId,
            type: 'OrderConfirmed',
            data: { orderNumber: `SO-${seqs.rows[index].seq}`, confirmedAt: new Date().toISOString() },
            occurredAt: new Date().toISOString(),
          },
        }));
        await client.query(
          `INSERT INTO server_events (server_seq, event_id, stream_id, type, body)
           SELECT r."serverSeq", b."eventId", b."streamId", b.type, r.body::text
         FROM json_array_elements($1::json) WITH ORDINALITY AS a(e, ord)
         CROSS JOIN LATERAL json_to_record(a.e) AS r("serverSeq" bigint, body json)
         CROSS JOIN LATERAL json_to_record(r.body) AS b("eventId" text, "streamId" text, type text)
         ORDER BY a.ord`,
          [JSON.stringify(decisions)],
        );
        await client.query(
          'INSERT INTO client_streams (client_id, stream_id) SELECT $1, s FROM unnest($2::text[]) AS s ON CONFLICT DO NOTHING',
          [clientId, [...new Set(events.map((event) => event.streamId))]],
        );
        // The server outbox's rows, one per event and decision (docs/server-outbox.md).
        const outboxRows = [
          ...events.map((event) => ({ event, type: event.type })),
          ...decisions.map(({ serverSeq, body }) => ({ event: { ...body, serverSeq }, type: body.type })),
        ].map(({ event, type }) => ({
          eventId: event.eventId,
          streamId: event.streamId,
          subject: `outpost.order.${type}`,
          owner: null,
          body: JSON.stringify(event),
        }));
        // Numbered per stream from the stream's counter, as a push numbers them (pg-outbox.ts).
        await client.query(
          `WITH batch AS (
             SELECT r."eventId", r."streamId", r.subject, r.owner, r.body, a.ord,
                    row_number() OVER (PARTITION BY r."streamId" ORDER BY a.ord) AS n,
                    count(*) OVER (PARTITION BY r."streamId") AS total
             FROM json_array_elements($1::json) WITH ORDINALITY AS a(e, ord)
             CROSS JOIN LATERAL json_to_record(a.e) AS r("eventId" text, "streamId" text, subject text, owner text, body text)
           ), counted AS (
             INSERT INTO server_outbox_streams (stream_id, last_seq)
             SELECT "streamId", count(*) FROM batch GROUP BY "streamId" ORDER BY "streamId"
             ON CONFLICT (stream_id) DO UPDATE SET last_seq = server_outbox_streams.last_seq + excluded.last_seq
             RETURNING stream_id, last_seq
           )
           INSERT INTO server_outbox (event_id, stream_id, subject, owner, body, created_at, stream_seq)
           SELECT b."eventId", b."streamId", b.subject, b.owner, b.body, $2, c.last_seq - b.total + b.n
           FROM batch b JOIN counted c ON c.stream_id = b."streamId"
           ORDER BY b.ord`,
          [JSON.stringify(outboxRows), Date.now()],
        );
        await client.query('COMMIT');
      } finally {
        client.release();
      }
    },
    null,
    cpuOf,
  );
  return result;
}

/** Push and pull throughput: every mode, round after round (the figures of docs/server.md, "Throughput"). */
async function benchSync(pgCpu) {
  const sqlite = await startInstance({ DATA_DIR: join(work, 'sqlite') });
  const one = await startInstance({ DATABASE_URL: postgres.url('bench_pg1') });
  const pair = [
    await startInstance({ DATABASE_URL: postgres.url('bench_pg2') }),
    await startInstance({ DATABASE_URL: postgres.url('bench_pg2') }),
  ];
  stops.push(...[sqlite, one, ...pair].map((instance) => instance.stop));
  const floorPool = createPgPool(
    {
      url: postgres.url('bench_floor'),
      poolSize: CLIENTS,
      statementTimeoutMs: 60_000,
      transactionTimeoutMs: 60_000,
    },
    () => undefined,
  );
  await migratePg(floorPool);
  stops.push(() => floorPool.end());

  const modes = {
    sqlite1: () => benchInstances([sqlite], () => ({ server: cpuSeconds(sqlite.pid), bench: benchCpu() })),
    pg1: () =>
      benchInstances([one], () => ({ server: cpuSeconds(one.pid), postgres: pgCpu(), bench: benchCpu() })),
    pg2: () =>
      benchInstances(pair, () => ({
        server: pair.reduce((sum, instance) => sum + cpuSeconds(instance.pid), 0),
        postgres: pgCpu(),
        bench: benchCpu(),
      })),
    floor: () => benchFloor(floorPool, () => ({ postgres: pgCpu(), bench: benchCpu() })),
  };
  // Rounds take turns, so a change in the machine's load (it is shared) falls on every mode alike.
  const rounds = Object.fromEntries(Object.keys(modes).map((mode) => [mode, []]));
  for (let round = 0; round < ROUNDS; round += 1) {
    for (const [mode, run] of Object.entries(modes)) rounds[mode].push(await run());
  }
  const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
  const perRound = (top, bottom) =>
    round(
      median(
        rounds[top].map((result, index) => result.pushesPerSecond / rounds[bottom][index].pushesPerSecond),
      ),
      2,
    );
  const summary = Object.fromEntries(
    Object.entries(rounds).map(([mode, results]) => {
      const best = results.reduce((a, b) => (b.pushesPerSecond > a.pushesPerSecond ? b : a));
      return [
        mode,
        {
          medianPushesPerSecond: median(results.map((result) => result.pushesPerSecond)),
          best,
          rounds: results.map((result) => result.pushesPerSecond),
        },
      ];
    }),
  );
  console.log(
    JSON.stringify(
      {
        clients: CLIENTS,
        batch: batchFor(randomUUID()).length,
        pushesPerClientPerRound: PUSHES,
        rounds: ROUNDS,
        pullers: PULLERS,
        results: summary,
        // Medians of the ratio within each round.
        ratios: {
          pg1OverFloor: perRound('pg1', 'floor'),
          pg2OverPg1: perRound('pg2', 'pg1'),
          pg1OverSqlite1: perRound('pg1', 'sqlite1'),
        },
      },
      null,
      2,
    ),
  );
}

const work = mkdtempSync(join(tmpdir(), 'outpost-bench-'));
// As root the cluster runs as the postgres user, which must reach its folder.
chmodSync(work, 0o755);
let postgres = null;
const stops = [];
try {
  postgres = await startLocalPostgres({ dataDir: join(work, 'pg') });
  const admin = new pg.Client({ connectionString: postgres.url() });
  await admin.connect();
  for (const name of ['bench_pg1', 'bench_pg2', 'bench_floor']) await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const pgCpu = () => postgresCpu(postgres.dataDir);

  if (!process.argv.includes('--outbox-only')) await benchSync(pgCpu);
  if (!process.argv.includes('--sync-only')) {
    const { benchOutbox } = await import('./bench-outbox.mjs');
    console.log(
      JSON.stringify(
        await benchOutbox({
          root,
          work,
          postgres,
          startInstance,
          stops,
          loadModule,
          orderEvents,
          randomUUID,
        }),
        null,
        2,
      ),
    );
  }
} finally {
  for (const stop of stops) await stop();
  await postgres?.stop('fast').catch(() => undefined);
  if (existsSync(work)) rmSync(work, { recursive: true, force: true });
}
