import { join } from 'node:path';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { headers } from '@nats-io/transport-node';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock, systemClock, uuidv7Generator } from '../../src/outbox/ids';
import type { WireClientEvent, WireServerEvent } from '../../src/outbox/protocol/messages';
import {
  ANALYTICS,
  analyticsService,
  type ConsumerRuntime,
  type ConsumerService,
  createReactionRegistry,
  DEFAULT_INBOX_RETENTION_MS,
  type DeliverySource,
  type OutboxLogRecord,
  type OwnedIncrement,
  startConsumer,
} from '../../src/outbox/server';
import {
  ensureConsumer,
  ensureStream,
  openDeliverySource,
  STREAM_SEQ_HEADER,
} from '../../src/server/node/nats-broker';
import { type ReplayExitCode, runReplayCli } from '../../src/server/node/replay-cli';
import { serverReactions } from '../../src/server-plugins';
import {
  attemptAt,
  type ConsumerDatabase,
  pgConsumerDatabase,
  sqliteConsumerDatabase,
} from './support/consumer-stores';
import { startTestNats, type TestNats } from './support/nats';
import { analyticsSummary, expectedOrderAnalytics, readEffectsPg } from './support/outbox-effects';
import {
  eventually,
  runServiceCommand,
  startRelayProcess,
  startServiceProcess,
  stopAllOutboxProcesses,
} from './support/outbox-processes';
import { startTestPostgres, type TestPostgres } from './support/postgres';
import {
  provisionDeviceToken,
  type ServerProcess,
  startServerProcess,
  stopAllServers,
  tempDir,
} from './support/server-process';
import { ordersFor, push } from './support/sync-client';

/**
 * The consumer services against real processes: PostgreSQL (or the SQLite file), nats-server, the server, the
 * relay and the services. One PostgreSQL and one nats-server for the file; an empty broker per test.
 */
let postgres: TestPostgres;
let nats: TestNats;
const temp = tempDir('nats-consumers');
beforeAll(async () => {
  [postgres, nats] = await Promise.all([startTestPostgres(), startTestNats()]);
}, 60_000);
beforeEach(() => nats.reset());
afterEach(async () => {
  await stopAllOutboxProcesses();
  await stopAllServers();
});
afterAll(async () => {
  await Promise.all([postgres?.stop(), nats?.close()]);
  temp.remove();
});

const ids = uuidv7Generator();

async function pushOrders(server: ServerProcess, count: number, token?: string): Promise<void> {
  const clientId = ids();
  for (const order of ordersFor(ids, clientId, count)) {
    const answer = await push(server.baseUrl, token, clientId, order, ids());
    expect(answer.results.every((result) => result.status === 'accepted')).toBe(true);
  }
}

interface Stats {
  outbox: { depth: number };
  consumers: Record<string, { pending: number; ackPending: number; parked: number }>;
}
const statsOf = async (server: ServerProcess, token?: string): Promise<Stats> =>
  (await (
    await fetch(`${server.baseUrl}/stats`, { headers: token ? { authorization: `Bearer ${token}` } : {} })
  ).json()) as Stats;

async function settled(server: ServerProcess, token?: string): Promise<Stats> {
  return eventually(async () => {
    const stats = await statsOf(server, token);
    expect(stats.outbox.depth).toBe(0);
    for (const name of ['notifications', 'analytics']) {
      expect(stats.consumers[name]).toMatchObject({ pending: 0, ackPending: 0 });
    }
    return stats;
  }, 90_000);
}

/** The analytics a person would compute from the stored events themselves, in SQL. */
async function recomputedFromEvents(url: string) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ placed: string; confirmed: string; revenue: string }>(
      `SELECT (SELECT COUNT(*) FROM client_events WHERE type = 'OrderPlaced') AS placed,
              (SELECT COUNT(*) FROM server_events WHERE type = 'OrderConfirmed') AS confirmed,
              (SELECT COALESCE(SUM((c.body::json->'data'->>'total')::bigint), 0) FROM client_events c
                 WHERE c.type = 'OrderPlaced'
                   AND EXISTS (SELECT 1 FROM server_events s WHERE s.stream_id = c.stream_id AND s.type = 'OrderConfirmed'))
                AS revenue`,
    );
    const row = rows[0];
    return {
      order_outcomes: [{ id: 'all', placed: Number(row?.placed), confirmed: Number(row?.confirmed) }],
      revenue_by_currency: [{ id: 'EUR', revenue: Number(row?.revenue) }],
    };
  } finally {
    await client.end();
  }
}

describe('the consumer services on PostgreSQL and NATS JetStream', () => {
  let databaseUrl: string;
  let server: ServerProcess;
  // A service killed mid-batch holds its messages for the ack wait: short here, so the test stays short.
  const env = (extra: Record<string, string> = {}) => ({
    DATABASE_URL: databaseUrl,
    NATS_URL: nats.url,
    SERVICE_ACK_WAIT_MS: '2000',
    ...extra,
  });
  beforeEach(async () => {
    databaseUrl = await postgres.createDatabase();
    server = await startServerProcess({ dataDir: temp.path, env: env() });
  }, 60_000);

  it('changes nothing on redelivery after a kill -9 inside the transaction and after the commit before the ack: analytics equal a recomputation from the stored events, one message per decision', async () => {
    startRelayProcess(env());
    await pushOrders(server, 6);
    const crashing = (at: string) =>
      (['notifications', 'analytics'] as const).map((name) =>
        startServiceProcess(
          name,
          env({ OUTPOST_FAULT_SERVICE_CRASH: at, OUTPOST_FAULT_SERVICE_CRASH_AFTER: '8' }),
        ),
      );
    for (const at of ['inside-transaction', 'after-commit']) {
      const services = crashing(at);
      for (const service of services) {
        expect((await service.exited).signal).toBe('SIGKILL');
        expect(service.logs.some((line) => line.includes(`fault injected, killed ${at}`))).toBe(true);
      }
    }
    const afterFirstCrashes = await readEffectsPg(databaseUrl);
    // The kill after the commit left effects that the broker never heard were applied.
    expect(afterFirstCrashes.inbox.analytics).toBeGreaterThan(0);
    startServiceProcess('notifications', env());
    startServiceProcess('analytics', env());
    await settled(server);

    const effects = await readEffectsPg(databaseUrl);
    expect(effects.inbox).toEqual({ notifications: 30, analytics: 30 });
    expect(effects.mail).toBe(6);
    expect(effects.mailDistinctEvents).toBe(6);
    expect(effects.decisions).toBe(6);
    const summary = await analyticsSummary(server.origin);
    expect(summary.tables).toMatchObject(await recomputedFromEvents(databaseUrl));
    expect(summary.tables).toMatchObject(expectedOrderAnalytics(6));
    expect(summary.figures).toEqual({ orderConfirmationRate: 1 });
  }, 120_000);

  it('parks a message it cannot handle (unknown type, bad body, a body its subject does not name) after its attempts, without holding up the others', async () => {
    startRelayProcess(env());
    const limited = env({ SERVICE_MAX_ATTEMPTS: '3' });
    startServiceProcess('notifications', limited);
    startServiceProcess('analytics', limited);
    const client = await nats.client();
    const js = jetstream(client);
    await eventually(() => js.publish('outpost.invoice.InvoiceIssued', '{"eventId":"nope"}'));
    await js.publish('outpost.order.OrderPlaced', 'not json');
    const [order] = ordersFor(ids, ids(), 1);
    await js.publish('outpost.order.OrderConfirmed', JSON.stringify(order?.[0]));
    await pushOrders(server, 3);

    const stats = await eventually(async () => {
      const current = await settled(server);
      expect(current.consumers.notifications?.parked).toBe(3);
      expect(current.consumers.analytics?.parked).toBe(3);
      return current;
    });
    expect(stats.consumers.analytics).toMatchObject({ pending: 0, ackPending: 0, parked: 3 });
    const effects = await readEffectsPg(databaseUrl);
    expect(effects.parked.map(({ consumer, subject }) => [consumer, subject])).toEqual([
      ['analytics', 'outpost.invoice.InvoiceIssued'],
      ['analytics', 'outpost.order.OrderPlaced'],
      ['analytics', 'outpost.order.OrderConfirmed'],
      ['notifications', 'outpost.invoice.InvoiceIssued'],
      ['notifications', 'outpost.order.OrderPlaced'],
      ['notifications', 'outpost.order.OrderConfirmed'],
    ]);
    expect(effects.parked.slice(0, 3).map((parked) => parked.reason)).toEqual([
      'unknown stream type invoice',
      'the body is not JSON',
      expect.stringContaining('does not match'),
    ]);
    expect(effects.inbox).toEqual({ notifications: 15, analytics: 15 });
    expect((await analyticsSummary(server.origin)).tables).toMatchObject(expectedOrderAnalytics(3));

    // Replayed by the command an operator runs: none of them can be applied by this build, so all stay.
    const replay = runServiceCommand(['replay-parked', 'analytics', '--all'], { DATABASE_URL: databaseUrl });
    expect((await replay.exited).code).toBe(1);
    expect(replay.logs.filter((line) => line.includes('still fails, stays parked (attempt 4)'))).toHaveLength(
      3,
    );
    expect(replay.logs).toContain('analytics: replayed 3: 0 applied, 0 applied already, 3 still parked');
    const replayed = await readEffectsPg(databaseUrl);
    expect(replayed.parked).toEqual(effects.parked);
    expect(replayed.inbox).toEqual(effects.inbox);
  }, 120_000);
});

describe('the analytics summary under AUTH=users', () => {
  it("shows each user the figures of the streams they own, the whole shop's when it shares its streams, and nobody's without credentials", async () => {
    const databaseUrl = await postgres.createDatabase();
    const env = { DATABASE_URL: databaseUrl, NATS_URL: nats.url };
    const alice = await provisionDeviceToken(temp.path, 'alice', env);
    const bob = await provisionDeviceToken(temp.path, 'bob', env);
    const server = await startServerProcess({ dataDir: temp.path, auth: 'users', env });
    startRelayProcess(env);
    startServiceProcess('analytics', env);
    startServiceProcess('notifications', env);
    await pushOrders(server, 2, alice);
    await pushOrders(server, 1, bob);
    await settled(server, alice);
    expect((await analyticsSummary(server.origin, alice)).tables).toMatchObject(expectedOrderAnalytics(2));
    expect((await analyticsSummary(server.origin, bob)).tables).toMatchObject(expectedOrderAnalytics(1));
    expect((await fetch(`${server.origin}/api/analytics/summary`)).status).toBe(401);
    // Another instance on the same database, started for a shop whose staff share every stream.
    const shop = await startServerProcess({
      dataDir: temp.path,
      auth: 'users',
      env: { ...env, STREAM_SHARING: 'shop' },
    });
    expect((await analyticsSummary(shop.origin, bob)).tables).toMatchObject(expectedOrderAnalytics(3));
    expect((await fetch(`${shop.origin}/api/analytics/summary`)).status).toBe(401);
  }, 120_000);
});

describe('npm start on SQLite', () => {
  it('says once that no broker is configured, keeps the outbox, and loses nothing when a broker is configured later', async () => {
    const dataDir = join(temp.path, 'sqlite');
    const first = await startServerProcess({ dataDir });
    await pushOrders(first, 3);
    const waiting = await statsOf(first);
    expect(waiting.outbox.depth).toBe(15);
    expect(waiting.consumers.analytics).toEqual({ broker: 'none', parked: 0 });
    await pushOrders(first, 1);
    expect((await first.stop()).code).toBe(0);
    expect(first.logs.filter((line) => line.includes('no broker configured'))).toHaveLength(1);

    const env = { DATA_DIR: dataDir, NATS_URL: nats.url };
    const second = await startServerProcess({ dataDir, env: { NATS_URL: nats.url } });
    startServiceProcess('notifications', env);
    startServiceProcess('analytics', env);
    await settled(second);
    expect((await analyticsSummary(second.origin)).tables).toMatchObject(expectedOrderAnalytics(4));
    const db = new Database(join(dataDir, 'outpost.sqlite'), { readonly: true });
    try {
      expect(db.prepare('SELECT COUNT(DISTINCT event_id) AS n FROM mail').get()).toEqual({ n: 4 });
      expect(
        db.prepare('SELECT consumer, COUNT(*) AS n FROM consumer_inbox GROUP BY consumer').all(),
      ).toEqual([
        { consumer: 'analytics', n: 20 },
        { consumer: 'notifications', n: 20 },
      ]);
    } finally {
      db.close();
    }
    expect(second.logs.some((line) => line.includes('no broker configured'))).toBe(false);
  }, 120_000);
});

describe.each(['postgresql', 'sqlite'] as const)('a consumer service’s store on %s', (kind) => {
  let database: ConsumerDatabase;
  let databases = 0;
  beforeEach(async () => {
    databases += 1;
    database =
      kind === 'postgresql'
        ? await pgConsumerDatabase(postgres)
        : sqliteConsumerDatabase(join(temp.path, `consumer-store-${databases}`));
  });
  afterEach(() => database.close());

  it('counts a message’s failed attempts itself, across a restart of the service, and parks it at the last with its owner and reason', async () => {
    const clock = new ManualClock(2_000);
    const [order] = ordersFor(ids, ids(), 1);
    const placed = order?.[3] as WireClientEvent;
    let store = database.open(clock);
    expect(await store.recordFailure(attemptAt(placed, 7), 3)).toEqual({ attempts: 1, parked: false });
    expect(await store.recordFailure(attemptAt(placed, 7), 3)).toEqual({ attempts: 2, parked: false });
    // Another consumer's attempts at the same message are its own.
    expect(await store.recordFailure(attemptAt(placed, 7, { consumer: 'notifications' }), 3)).toEqual({
      attempts: 1,
      parked: false,
    });
    await store.close();
    store = database.open(clock);
    expect(await store.recordFailure(attemptAt(placed, 7, { reason: 'still broken' }), 3)).toEqual({
      attempts: 3,
      parked: true,
    });
    expect(await database.rows('SELECT * FROM consumer_parked')).toEqual([
      {
        consumer: 'analytics',
        sequence: 7,
        subject: 'outpost.order.OrderPlaced',
        message_id: placed.eventId,
        owner: 'alice',
        body: JSON.stringify(placed),
        reason: 'still broken',
        attempts: 3,
        parked_at: 2_000,
      },
    ]);
    expect(await database.rows('SELECT consumer, sequence, attempts FROM consumer_attempts')).toEqual([
      { consumer: 'notifications', sequence: 7, attempts: 1 },
    ]);

    // Sequence 8 fails twice; then the stream is created anew and its new message 8 starts from 1.
    await store.recordFailure(attemptAt(placed, 8), 3);
    await store.recordFailure(attemptAt(placed, 8), 3);
    expect(await store.recordFailure(attemptAt(placed, 8, { storedAt: 99_000 }), 3)).toEqual({
      attempts: 1,
      parked: false,
    });
    // Applied at a later delivery: its count is forgotten with the commit, not with a rollback.
    await expect(
      store.transaction(async (tx) => {
        await tx.forgetFailures('analytics', [8]);
        throw new Error('rolled back');
      }),
    ).rejects.toThrow('rolled back');
    expect(
      await database.rows("SELECT attempts FROM consumer_attempts WHERE consumer = 'analytics'"),
    ).toEqual([{ attempts: 1 }]);
    await store.transaction((tx) => tx.forgetFailures('analytics', [8]));
    expect(
      await database.rows("SELECT attempts FROM consumer_attempts WHERE consumer = 'analytics'"),
    ).toEqual([]);
  });

  it('prunes inbox rows applied before the cut-off in slices, keeping newer rows, other services’ rows and those of a parked event', async () => {
    const clock = new ManualClock(1_000);
    const store = database.open(clock);
    const old = ['e1', 'e2', 'e3', 'e4', 'e5'];
    await store.transaction((tx) => tx.admit('analytics', old));
    await store.transaction((tx) => tx.admit('notifications', old));
    const created = ordersFor(ids, ids(), 1)[0]?.[0] as WireClientEvent;
    await store.recordFailure(attemptAt(created, 3, { at: 1_000 }), 5);
    // A copy of e2 was parked: its replay must still find e2 applied.
    await store.recordFailure(attemptAt(created, 4, { messageId: 'e2', at: 1_000 }), 1);
    clock.set(5_000);
    await store.transaction((tx) => tx.admit('analytics', ['e6']));
    await store.recordFailure(attemptAt(created, 5, { at: 5_000 }), 5);

    expect(await store.prune('analytics', 5_000, 3)).toBe(3);
    expect(await store.prune('analytics', 5_000, 3)).toBe(1);
    expect(await store.prune('analytics', 5_000, 3)).toBe(0);
    expect(
      await database.rows('SELECT consumer, event_id FROM consumer_inbox ORDER BY consumer, event_id'),
    ).toEqual([
      { consumer: 'analytics', event_id: 'e2' },
      { consumer: 'analytics', event_id: 'e6' },
      ...old.map((eventId) => ({ consumer: 'notifications', event_id: eventId })),
    ]);
    expect(await database.rows('SELECT sequence FROM consumer_attempts')).toEqual([{ sequence: 5 }]);
  });

  it('replay-parked applies parked messages in order through the inbox and the reactions, removes each with its effect, keeps what still fails with its new reason, and refuses a bad request writing nothing', async () => {
    const store = database.open(systemClock);
    const [order] = ordersFor(ids, ids(), 1);
    const events = order as WireClientEvent[];
    // The analytics service parked a whole order after failures since fixed, and a message it can never read.
    for (const [index, event] of events.entries()) await store.recordFailure(attemptAt(event, index + 1), 1);
    await store.recordFailure(
      {
        ...attemptAt(events[0] as WireClientEvent, 5),
        subject: 'outpost.invoice.InvoiceIssued',
        reason: 'x',
      },
      1,
    );
    const state = async () => ({
      parked: await database.rows('SELECT sequence, attempts, reason FROM consumer_parked ORDER BY sequence'),
      inbox: await database.rows('SELECT COUNT(*) AS n FROM consumer_inbox'),
      counters: await database.rows('SELECT owner, counter, row_id, field, value FROM analytics_counters'),
    });
    const before = await state();
    expect(before.parked.map((row) => row.sequence)).toEqual([1, 2, 3, 4, 5]);

    const refused: [string[], ReplayExitCode, string][] = [
      [['nope', '--all'], 2, 'there is no service "nope"'],
      [[], 2, 'name a service'],
      [['analytics'], 2, 'name the sequences to replay, or --all'],
      [['analytics', '2', 'x2'], 2, '"x2" is not a sequence'],
      [['analytics', '0'], 2, '"0" is not a sequence'],
      [['analytics', '--all', '3'], 2, 'give it alone'],
      [
        ['analytics', '1', '99', '98'],
        1,
        'analytics has no parked message at sequence 99, 98: nothing was replayed',
      ],
    ];
    for (const [argv, code, message] of refused) {
      const result = await replayCli(argv);
      expect(result, argv.join(' ')).toMatchObject({ code, out: '' });
      expect(result.err).toContain(message);
    }
    expect(await state()).toEqual(before);

    expect(await replayCli(['analytics', '2', '1'])).toEqual({
      code: 0,
      out:
        `analytics #1 outpost.order.OrderCreated: applied, no longer parked\n` +
        `analytics #2 outpost.order.ProductAdded: applied, no longer parked\n` +
        'analytics: replayed 2: 2 applied, 0 applied already, 0 still parked\n',
      err: '',
    });
    const all = await replayCli(['analytics', '--all']);
    expect(all.out.split('\n')).toEqual([
      'analytics #3 outpost.order.ProductAdded: applied, no longer parked',
      'analytics #4 outpost.order.OrderPlaced: applied, no longer parked',
      'analytics #5 outpost.invoice.InvoiceIssued: still fails, stays parked (attempt 2): unknown stream type invoice',
      'analytics: replayed 3: 2 applied, 0 applied already, 1 still parked',
      '',
    ]);
    expect(all.code).toBe(1);
    const after = await state();
    expect(after.parked).toEqual([{ sequence: 5, attempts: 2, reason: 'unknown stream type invoice' }]);
    expect(after.inbox).toEqual([{ n: 4 }]);
    const placedToday = (events[3] as WireClientEvent).metadata.occurredAt.slice(0, 10);
    expect(after.counters).toEqual(
      expect.arrayContaining([
        { owner: 'alice', counter: 'order_outcomes', row_id: 'all', field: 'placed', value: 1 },
        { owner: 'alice', counter: 'orders_per_day', row_id: placedToday, field: 'placed', value: 1 },
      ]),
    );
    expect(after.counters).toHaveLength(2);

    // A copy of the order's placement, parked after the first was applied: replaying it changes nothing.
    await store.recordFailure(attemptAt(events[3] as WireClientEvent, 9), 1);
    expect(await replayCli(['analytics', '9'])).toMatchObject({
      code: 0,
      out: expect.stringContaining(
        'analytics #9 outpost.order.OrderPlaced: its event was applied already (another copy); nothing changed, no longer parked',
      ),
    });
    expect(await state()).toEqual(after);
    expect(await replayCli(['notifications', '--all'])).toEqual({
      code: 0,
      out: 'notifications: nothing is parked\n',
      err: '',
    });
  });

  async function replayCli(argv: string[]): Promise<{ code: ReplayExitCode; out: string; err: string }> {
    let out = '';
    let err = '';
    const code = await runReplayCli(argv, {
      env: database.env,
      cwd: temp.path,
      out: (text) => {
        out += text;
      },
      err: (text) => {
        err += text;
      },
    });
    return { code, out, err };
  }
});

describe('the consumer runtime on PostgreSQL and nats-server', () => {
  const runtimes: ConsumerRuntime[] = [];
  let database: ConsumerDatabase;
  beforeEach(async () => {
    database = await pgConsumerDatabase(postgres);
  });
  afterEach(async () => {
    await Promise.all(runtimes.splice(0).map((runtime) => runtime.stop()));
    await database.close();
  });

  /** The analytics service's durable consumer, its deliveries watched: each sequence's highest delivery count. */
  async function analyticsConsumer() {
    const connection = await nats.client();
    const manager = await jetstreamManager(connection);
    await ensureStream(manager, 120_000, 'create');
    await ensureConsumer(manager, ANALYTICS, 30_000);
    const source = await openDeliverySource(connection, ANALYTICS);
    const deliveries = new Map<number, number>();
    const watched: DeliverySource = {
      messages: (async function* () {
        for await (const delivery of source.messages) {
          deliveries.set(
            delivery.sequence,
            Math.max(deliveries.get(delivery.sequence) ?? 0, delivery.deliveryCount),
          );
          yield delivery;
        }
      })(),
      stop: () => source.stop(),
      oldestUnacknowledgedAt: () => source.oldestUnacknowledgedAt(),
    };
    const js = jetstream(connection);
    /** Publishes as the relay does; with `firstSeq`, each stream's events numbered from it in the order given. */
    const publish = async (events: readonly (WireClientEvent | WireServerEvent)[], firstSeq?: number) => {
      const sequences: number[] = [];
      const next = new Map<string, number>();
      for (const event of events) {
        const header = headers();
        if (firstSeq !== undefined) {
          const seq = next.get(event.streamId) ?? firstSeq;
          next.set(event.streamId, seq + 1);
          header.set(STREAM_SEQ_HEADER, String(seq));
        }
        const ack = await js.publish(`outpost.order.${event.type}`, JSON.stringify(event), {
          msgID: event.eventId,
          headers: header,
        });
        sequences.push(ack.seq);
      }
      return sequences;
    };
    return { source: watched, deliveries, publish, js };
  }

  const connectionsAllowed = async (allowed: boolean) => {
    const url = new URL(database.env.DATABASE_URL ?? '');
    const name = url.pathname.slice(1);
    url.pathname = '/postgres';
    const admin = new pg.Client({ connectionString: url.toString() });
    await admin.connect();
    try {
      await admin.query(`ALTER DATABASE ${name} ALLOW_CONNECTIONS ${allowed}`);
      if (!allowed) {
        await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1', [
          name,
        ]);
      }
    } finally {
      await admin.end();
    }
  };

  /** The order's confirmation, as the server decides it. */
  const confirmation = (streamId: string, serverSeq: number): WireServerEvent => ({
    eventId: ids(),
    streamId,
    serverSeq,
    occurredAt: '2026-12-07T12:00:00.000Z',
    type: 'OrderConfirmed',
    data: {
      orderNumber: `SO-${String(serverSeq).padStart(6, '0')}`,
      confirmedAt: '2026-12-07T12:00:00.000Z',
    },
  });
  const outcomes = () =>
    database.rows(
      `SELECT counter, row_id, field, value FROM analytics_counters
       WHERE counter IN ('order_outcomes', 'revenue_by_currency') ORDER BY counter, field`,
    );

  it('counts towards parking only the attempts that failed themselves: after a database outage of more redeliveries than the limit, a message whose reaction fails once is applied, and a poison message is parked after exactly its own five', async () => {
    const [first, second] = ordersFor(ids, ids(), 2) as WireClientEvent[][];
    const failsOnce = first?.[3]?.eventId;
    const poison = second?.[3]?.eventId;
    let failedOnce = 0;
    let poisonReactions = 0;
    const service: ConsumerService<OwnedIncrement> = {
      ...analyticsService,
      react(reactions, change, context) {
        if (context.eventId === failsOnce && failedOnce === 0) {
          failedOnce += 1;
          throw new Error('a passing failure');
        }
        if (context.eventId === poison) {
          poisonReactions += 1;
          throw new Error('a poison message');
        }
        return analyticsService.react(reactions, change, context);
      },
    };
    const consumer = await analyticsConsumer();
    const logs: OutboxLogRecord[] = [];
    await connectionsAllowed(false);
    const sequences = await consumer.publish([...(first ?? []), ...(second ?? [])], 1);
    runtimes.push(
      startConsumer({
        service,
        registry: createReactionRegistry(serverReactions),
        source: consumer.source,
        store: database.open(systemClock),
        clock: systemClock,
        log: (record) => logs.push(record),
        // The default limit, with shorter delays so the outage lasts seconds, not minutes.
        retryBackoff: { baseMs: 20, capMs: 200 },
      }),
    );
    await eventually(async () => {
      for (const sequence of sequences) expect(consumer.deliveries.get(sequence)).toBeGreaterThan(5);
    }, 30_000);
    // Every delivery so far was refused by the database before any reaction ran.
    expect([failedOnce, poisonReactions]).toEqual([0, 0]);
    await connectionsAllowed(true);

    const runtime = runtimes[0] as ConsumerRuntime;
    await eventually(async () => expect(runtime.applied() + runtime.parked()).toBe(8), 30_000);
    expect([runtime.applied(), runtime.parked()]).toEqual([7, 1]);
    expect([failedOnce, poisonReactions]).toEqual([1, 5]);
    expect(await database.rows('SELECT sequence, attempts, reason FROM consumer_parked')).toEqual([
      {
        sequence: sequences[7],
        attempts: 5,
        reason: 'The order reaction to OrderPlaced failed: a poison message',
      },
    ]);
    expect(await database.rows('SELECT COUNT(*) AS n FROM consumer_attempts')).toEqual([{ n: 0 }]);
    // The outage's redeliveries came back in any order, and each stream was still applied in its order: the
    // first order counts as placed (its OrderPlaced applied after its OrderCreated), the poisoned one not.
    expect(await outcomes()).toEqual([
      { counter: 'order_outcomes', row_id: 'all', field: 'placed', value: 1 },
    ]);
    const inbox = new Set(
      (await database.rows('SELECT event_id FROM consumer_inbox')).map((row) => row.event_id),
    );
    expect(inbox.size).toBe(7);
    expect([inbox.has(failsOnce ?? ''), inbox.has(poison ?? '')]).toEqual([true, false]);
    expect(logs.filter((record) => record.msg === 'analytics: the database failed; retrying')).toHaveLength(
      1,
    );
    expect(logs.filter((record) => record.msg === 'analytics: the database answers again')).toHaveLength(1);
  }, 60_000);

  it("applies each stream's events in the stream's order when a retry brings one back after its successors: an order whose OrderCreated fails once is still placed, confirmed and counted with its revenue", async () => {
    const orders = ordersFor(ids, ids(), 2).map((events, index) => [
      ...events,
      confirmation(events[0]?.streamId ?? '', index + 1),
    ]);
    const failsOnce = orders[0]?.[0]?.eventId;
    let failures = 0;
    const service: ConsumerService<OwnedIncrement> = {
      ...analyticsService,
      react(reactions, change, context) {
        if (context.eventId === failsOnce && failures === 0) {
          failures += 1;
          throw new Error('a passing failure');
        }
        return analyticsService.react(reactions, change, context);
      },
    };
    const consumer = await analyticsConsumer();
    const sequences = await consumer.publish(orders.flat(), 1);
    const runtime = startConsumer({
      service,
      registry: createReactionRegistry(serverReactions),
      source: consumer.source,
      store: database.open(systemClock),
      clock: systemClock,
      // One failure short of parking: a successor that waited would be parked if waiting counted as failing.
      maxAttempts: 2,
      retryBackoff: { baseMs: 20, capMs: 200 },
    });
    runtimes.push(runtime);
    await eventually(async () => expect(runtime.applied()).toBe(10), 15_000);
    expect(failures).toBe(1);
    // The first order's successors of OrderCreated came before its retry, and were delivered again after it.
    expect(
      Math.max(...sequences.slice(1, 5).map((sequence) => consumer.deliveries.get(sequence) ?? 0)),
    ).toBeGreaterThan(1);
    expect(runtime.parked()).toBe(0);
    expect(await outcomes()).toEqual([
      { counter: 'order_outcomes', row_id: 'all', field: 'confirmed', value: 2 },
      { counter: 'order_outcomes', row_id: 'all', field: 'placed', value: 2 },
      { counter: 'revenue_by_currency', row_id: 'EUR', field: 'revenue', value: 2 * 2599 },
    ]);
    expect(await database.rows('SELECT COUNT(*) AS n FROM consumer_attempts')).toEqual([{ n: 0 }]);
    expect(
      await database.rows(
        "SELECT last_seq FROM consumer_streams WHERE consumer = 'analytics' ORDER BY stream_id",
      ),
    ).toEqual([{ last_seq: 5 }, { last_seq: 5 }]);
  }, 30_000);

  it('applies a stream whose earlier events it will never see once they have not come for the order wait, without holding up the other streams meanwhile', async () => {
    const [late, whole] = ordersFor(ids, ids(), 2) as WireClientEvent[][];
    const consumer = await analyticsConsumer();
    // As if numbers 1 and 2 of this stream had gone from the broker before the service first read it.
    const lateSequences = await consumer.publish(late ?? [], 3);
    await consumer.publish(whole ?? [], 1);
    const started = Date.now();
    const runtime = startConsumer({
      service: analyticsService,
      registry: createReactionRegistry(serverReactions),
      source: consumer.source,
      store: database.open(systemClock),
      clock: systemClock,
      orderWaitMs: 1_500,
      retryBackoff: { baseMs: 20, capMs: 200 },
    });
    runtimes.push(runtime);
    await eventually(async () => expect(runtime.applied()).toBe(4), 10_000);
    // The whole stream went through while the other waited.
    expect(Date.now() - started).toBeLessThan(1_500);
    await eventually(async () => expect(runtime.applied()).toBe(8), 10_000);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_500);
    expect(consumer.deliveries.get(lateSequences[0] ?? 0)).toBeGreaterThan(1);
    expect(await outcomes()).toEqual([
      { counter: 'order_outcomes', row_id: 'all', field: 'placed', value: 2 },
    ]);
    expect(
      await database.rows(
        `SELECT last_seq FROM consumer_streams WHERE consumer = 'analytics' AND stream_id = '${late?.[0]?.streamId}'`,
      ),
    ).toEqual([{ last_seq: 6 }]);
  }, 30_000);

  it('prunes inbox rows the retention after the oldest message the broker may still deliver, never after now alone, in slices', async () => {
    const start = Date.now();
    const clock = new ManualClock(start);
    const consumer = await analyticsConsumer();
    const runtime = startConsumer({
      service: analyticsService,
      registry: createReactionRegistry(serverReactions),
      source: consumer.source,
      store: database.open(clock),
      clock,
      maxAttempts: 4,
      // Slow enough retries that a poll sees the message between its attempts, even on a busy machine.
      retryBackoff: { baseMs: 200, capMs: 800 },
      pruneEveryMs: 20,
      pruneSliceSize: 5,
    });
    runtimes.push(runtime);
    await consumer.publish(ordersFor(ids, ids(), 3).flat());
    await eventually(async () => expect(runtime.applied()).toBe(12));

    // A message it cannot read stays unacknowledged while it is retried: until it is parked, the broker may
    // deliver it (or anything after it) again, so the rows stay however late the clock says it is.
    await consumer.js.publish('outpost.order.OrderPlaced', 'not json');
    await eventually(async () =>
      expect(await database.rows('SELECT attempts FROM consumer_attempts')).toEqual([{ attempts: 1 }]),
    );
    clock.set(start + DEFAULT_INBOX_RETENTION_MS + 86_400_000);
    const whileRetried: (string | number | null | undefined)[][] = [];
    await eventually(
      async () => {
        const [row] = await database.rows(
          `SELECT (SELECT attempts FROM consumer_attempts) AS attempts,
                (SELECT COUNT(*) FROM consumer_inbox) AS inbox,
                (SELECT COUNT(*) FROM consumer_parked) AS parked`,
        );
        if (row?.parked === 0) whileRetried.push([row.attempts, row.inbox]);
        expect(row).toMatchObject({ parked: 1, inbox: 0 });
      },
      30_000,
      10,
    );
    expect(whileRetried.some(([attempts]) => Number(attempts) >= 2)).toBe(true);
    expect(whileRetried.every(([, inbox]) => inbox === 12)).toBe(true);
    expect(runtime.pruned()).toBe(12);
  }, 60_000);
});
