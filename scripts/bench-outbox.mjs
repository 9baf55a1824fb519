/**
 * The server outbox's part of `npm run bench:server` (docs/server-outbox.md, "Figures"), in the same run and
 * on the same PostgreSQL as the rest:
 *
 * 1. Accept-to-effect latency: the real server, relay and both services as processes, on PostgreSQL and a
 *    throw-away `nats-server -js`. Pushes of 10 whole orders (40 events) are sent at a steady rate (200 and
 *    2,000 events/s, open loop: each at its scheduled time whatever the others do); each push's orders carry
 *    a day among 64 (pushes 64 apart share one), so the moment `GET /api/analytics/summary` shows that day's
 *    orders placed up to that push is the moment it took effect. Latency: push answered → summary reflects it; p50 and p99.
 * 2. Relay throughput: RELAY_ROWS outbox rows of real orders, published by the relay (its PostgreSQL store and
 *    JetStream publisher, in this process) into an empty stream, against a bare loop that publishes the same
 *    messages with the same msg ids, in windows as large as the relay's batch, into an empty stream. Rounds take
 *    turns; the ratio is the median of the ratios within rounds.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join } from 'node:path';

const arg = (name, fallback) => {
  const at = process.argv.indexOf(`--${name}`);
  return at === -1 ? fallback : Number(process.argv[at + 1]);
};
const SECONDS = arg('outbox-seconds', 10);
const RELAY_ROWS = arg('relay-rows', 20_000);
const RELAY_ROUNDS = arg('relay-rounds', 3);
const ORDERS_PER_PUSH = 10;
const BATCH = 500;

const pick = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
const round = (value, digits = 0) => Number(value.toFixed(digits));
const sleep = (ms) => new Promise((wait) => setTimeout(wait, ms));
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

async function listening(port) {
  return new Promise((done) => {
    const socket = createConnection({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      done(true);
    });
    socket.once('error', () => done(false));
  });
}

async function startNats(work, freePort) {
  execFileSync('nats-server', ['--version'], { stdio: 'ignore' });
  const port = await freePort();
  const store = join(work, 'nats');
  mkdirSync(store, { recursive: true });
  const child = spawn('nats-server', ['-js', '-sd', store, '-a', '127.0.0.1', '-p', String(port)], {
    stdio: 'ignore',
  });
  for (let attempt = 0; !(await listening(port)); attempt += 1) {
    if (attempt > 200) throw new Error('nats-server did not start');
    await sleep(50);
  }
  return {
    url: `nats://127.0.0.1:${port}`,
    stop: () =>
      new Promise((done) => {
        child.once('exit', done);
        child.kill('SIGTERM');
      }),
  };
}

function startProcess(root, script, args, env) {
  const child = spawn(process.execPath, [join(root, script), ...args], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: 'ignore',
  });
  return () =>
    new Promise((done) => {
      if (child.exitCode !== null) return done();
      child.once('exit', done);
      child.kill('SIGTERM');
    });
}

export async function benchOutbox({
  root,
  postgres,
  work,
  startInstance,
  stops,
  loadModule,
  orderEvents,
  randomUUID,
}) {
  const { freePort } = await loadModule('local-postgres.ts');
  const { createPgRelayStore, migratePgAt, insertOutboxRows } = await loadModule('pg-outbox.ts');
  const { createJetStreamPublisher, ensureStream, OUTBOX_STREAM } = await loadModule('nats-broker.ts');
  const { startRelay } = await import(join(root, 'src', 'outbox', 'server', 'index.ts'));
  const { connect } = await import('@nats-io/transport-node');
  const { jetstream, jetstreamManager } = await import('@nats-io/jetstream');
  const pg = (await import('pg')).default;

  const nats = await startNats(work, freePort);
  stops.push(nats.stop);
  const admin = new pg.Client({ connectionString: postgres.url() });
  await admin.connect();
  for (const name of ['bench_outbox_latency', 'bench_outbox_relay'])
    await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();

  // 1. Accept-to-effect latency, through every process.
  const env = { DATABASE_URL: postgres.url('bench_outbox_latency'), NATS_URL: nats.url };
  const server = await startInstance(env);
  stops.unshift(server.stop);
  for (const [script, args] of [
    ['scripts/relay.mjs', []],
    ['scripts/service.mjs', ['notifications']],
    ['scripts/service.mjs', ['analytics']],
  ]) {
    stops.unshift(startProcess(root, script, args, env));
  }
  const origin = server.base.replace(/\/api\/sync$/, '');
  for (let attempt = 0; ; attempt += 1) {
    const stats = await (await fetch(`${server.base}/stats`)).json();
    if (
      typeof stats.consumers?.analytics?.pending === 'number' &&
      typeof stats.consumers?.notifications?.pending === 'number'
    )
      break;
    if (attempt > 600) throw new Error('the services did not start');
    await sleep(100);
  }

  // Each push's orders are placed on a day of their own among DAYS (a new set of days per run), so the summary
  // the poller reads stays DAYS rows long however many pushes there are: push k took effect once its day shows
  // the orders of every push of that day up to k (pushes DAYS apart: one effect cannot pass another).
  const DAYS = 64;
  let firstDay = 0;
  const dayOf = (offset) => new Date(Date.UTC(1990, 0, 1) + offset * 86_400_000).toISOString().slice(0, 10);

  async function steady(eventsPerSecond) {
    const pushesPerSecond = eventsPerSecond / (ORDERS_PER_PUSH * 4);
    const total = Math.max(1, Math.round(SECONDS * pushesPerSecond));
    const clientId = randomUUID();
    const days = firstDay;
    firstDay += DAYS;
    const planned = Array.from({ length: total }, (_, index) => {
      const day = dayOf(days + (index % DAYS));
      const placedByThen = ORDERS_PER_PUSH * (Math.floor(index / DAYS) + 1);
      const events = [];
      for (let order = 0; order < ORDERS_PER_PUSH; order += 1) {
        for (const event of orderEvents(clientId)) {
          events.push({ ...event, metadata: { ...event.metadata, occurredAt: `${day}T12:00:00.000Z` } });
        }
      }
      return {
        day,
        placedByThen,
        body: JSON.stringify({ protocol: 1, clientId, batchId: randomUUID(), events }),
      };
    });
    const answered = new Map();
    const latencies = [];
    let polling = true;
    // Where a backlog builds up, if one does: the outbox (the relay) or a consumer (a service).
    const backlog = { outboxDepth: 0, notificationsPending: 0, analyticsPending: 0 };
    const watcher = (async () => {
      while (polling) {
        const stats = await (await fetch(`${server.base}/stats`)).json();
        backlog.outboxDepth = Math.max(backlog.outboxDepth, stats.outbox.depth);
        for (const name of ['notifications', 'analytics']) {
          const lag = stats.consumers[name];
          const waiting = (lag.pending ?? 0) + (lag.ackPending ?? 0);
          backlog[`${name}Pending`] = Math.max(backlog[`${name}Pending`], waiting);
        }
        await sleep(250);
      }
    })();
    const poller = (async () => {
      while (polling) {
        const summary = await (await fetch(`${origin}/api/analytics/summary`)).json();
        const now = performance.now();
        const placed = new Map((summary.tables.orders_per_day ?? []).map((row) => [row.id, row.placed ?? 0]));
        for (const [index, { day, need, at }] of answered) {
          if ((placed.get(day) ?? 0) >= need) {
            latencies.push(now - at);
            answered.delete(index);
          }
        }
        // Every 20 ms: often enough to time an effect to ±10 ms, seldom enough not to load the server it measures.
        await sleep(20);
      }
    })();
    const started = performance.now();
    const interval = 1000 / pushesPerSecond;
    let failed = 0;
    const failures = new Map();
    await Promise.all(
      planned.map(async ({ day, placedByThen, body }, index) => {
        await sleep(Math.max(0, started + index * interval - performance.now()));
        const response = await fetch(`${server.base}/push`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body,
        });
        const answer = await response.json();
        if (response.status !== 200 || answer.results.some((result) => result.status !== 'accepted')) {
          failed += 1;
          const why = JSON.stringify(
            answer.error ?? answer.results.find((result) => result.status !== 'accepted'),
          );
          failures.set(why, (failures.get(why) ?? 0) + 1);
        }
        answered.set(index, { day, need: placedByThen, at: performance.now() });
      }),
    );
    const sentFor = (performance.now() - started) / 1000;
    for (let waited = 0; latencies.length + failed < total && waited < 120_000; waited += 50) await sleep(50);
    polling = false;
    await poller;
    await watcher;
    latencies.sort((a, b) => a - b);
    return {
      targetEventsPerSecond: eventsPerSecond,
      sentEventsPerSecond: round((total * ORDERS_PER_PUSH * 4) / sentFor),
      pushes: total,
      failedPushes: failed,
      ...(failed > 0 ? { failures: Object.fromEntries(failures) } : {}),
      effectsSeen: latencies.length,
      acceptToEffectMs: { p50: round(pick(latencies, 0.5), 1), p99: round(pick(latencies, 0.99), 1) },
      largestBacklog: backlog,
    };
  }
  // A short warm-up: the first requests pay for connections and statement plans.
  await steady(200).catch(() => undefined);
  const latency = { at200: await steady(200), at2000: await steady(2_000) };

  // 2. Relay throughput against a bare publish loop of the same messages.
  const url = postgres.url('bench_outbox_relay');
  await migratePgAt(url);
  const db = new pg.Client({ connectionString: url });
  await db.connect();
  const rows = [];
  while (rows.length < RELAY_ROWS) {
    for (const event of orderEvents(randomUUID())) {
      rows.push({
        eventId: event.eventId,
        streamId: event.streamId,
        subject: `outpost.order.${event.type}`,
        owner: null,
        body: JSON.stringify(event),
      });
    }
  }
  rows.length = RELAY_ROWS;
  for (let at = 0; at < rows.length; at += 1_000) {
    await insertOutboxRows((text, values) => db.query(text, values), rows.slice(at, at + 1_000), Date.now());
  }
  const connection = await connect({ servers: nats.url });
  const manager = await jetstreamManager(connection);
  const settings = { url: nats.url, duplicateWindowMs: 120_000, publishTimeoutMs: 30_000 };
  const emptyStream = async () => {
    await manager.streams.delete(OUTBOX_STREAM).catch(() => false);
    await ensureStream(manager, settings.duplicateWindowMs, 'create');
  };
  const clock = { now: () => Date.now() };

  async function relayOnce() {
    await emptyStream();
    await db.query('UPDATE server_outbox SET published_at = NULL');
    await db.query('VACUUM ANALYZE server_outbox');
    const relay = startRelay({
      store: createPgRelayStore({ url, statementTimeoutMs: 60_000 }),
      publisher: createJetStreamPublisher(connection, settings),
      clock,
      pollMs: 1,
      batchSize: BATCH,
    });
    const started = performance.now();
    while (relay.published() < RELAY_ROWS) await sleep(1);
    const seconds = (performance.now() - started) / 1000;
    await relay.stop();
    return RELAY_ROWS / seconds;
  }
  async function bareOnce() {
    await emptyStream();
    const client = jetstream(connection, { timeout: settings.publishTimeoutMs });
    const started = performance.now();
    for (let at = 0; at < rows.length; at += BATCH) {
      await Promise.all(
        rows
          .slice(at, at + BATCH)
          .map((row) => client.publish(row.subject, row.body, { msgID: row.eventId })),
      );
    }
    return RELAY_ROWS / ((performance.now() - started) / 1000);
  }
  const relayRounds = [];
  const bareRounds = [];
  for (let index = 0; index < RELAY_ROUNDS; index += 1) {
    relayRounds.push(await relayOnce());
    bareRounds.push(await bareOnce());
  }
  await connection.close();
  await db.end();
  return {
    outbox: {
      secondsPerRate: SECONDS,
      eventsPerPush: ORDERS_PER_PUSH * 4,
      latency,
      relay: {
        rows: RELAY_ROWS,
        batch: BATCH,
        relayEventsPerSecond: relayRounds.map((rate) => round(rate)),
        bareEventsPerSecond: bareRounds.map((rate) => round(rate)),
        relayOverBare: round(median(relayRounds.map((rate, index) => rate / bareRounds[index])), 2),
      },
    },
  };
}
