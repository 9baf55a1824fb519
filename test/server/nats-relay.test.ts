import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { uuidv7Generator } from '../../src/outbox/ids';
import { startTestNats, type TestNats } from './support/nats';
import {
  analyticsSummary,
  expectedOrderAnalytics,
  firstSeenPerStream,
  readEffectsPg,
  WHOLE_ORDER,
} from './support/outbox-effects';
import {
  eventually,
  startRelayProcess,
  startServiceProcess,
  stopAllOutboxProcesses,
  streamMessages,
} from './support/outbox-processes';
import { startTestPostgres, type TestPostgres } from './support/postgres';
import { type ServerProcess, startServerProcess, stopAllServers, tempDir } from './support/server-process';
import { ordersFor, push } from './support/sync-client';

/**
 * The relay against real processes: PostgreSQL, nats-server, the server, the relay and the services, each a
 * process a test can kill -9. One PostgreSQL and one nats-server for the file; a fresh database and an empty
 * broker per test.
 */
let postgres: TestPostgres;
let nats: TestNats;
const temp = tempDir('nats-relay');
beforeAll(async () => {
  [postgres, nats] = await Promise.all([startTestPostgres(), startTestNats()]);
}, 60_000);
afterEach(async () => {
  await stopAllOutboxProcesses();
  await stopAllServers();
});
afterAll(async () => {
  await Promise.all([postgres?.stop(), nats?.close()]);
  temp.remove();
});

const ids = uuidv7Generator();
let databaseUrl: string;
let server: ServerProcess;
beforeEach(async () => {
  await nats.reset();
  databaseUrl = await postgres.createDatabase();
  server = await startServerProcess({
    dataDir: temp.path,
    env: { DATABASE_URL: databaseUrl, NATS_URL: nats.url },
  });
}, 60_000);

const env = (extra: Record<string, string> = {}) => ({
  DATABASE_URL: databaseUrl,
  NATS_URL: nats.url,
  ...extra,
});

/** Pushes `count` whole orders of one new client; resolves with the event ids the server stored. */
async function pushOrders(count: number): Promise<void> {
  const clientId = ids();
  for (const order of ordersFor(ids, clientId, count)) {
    const answer = await push(server.baseUrl, undefined, clientId, order, ids());
    expect(answer.results.every((result) => result.status === 'accepted')).toBe(true);
  }
}

/** Waits until the outbox is empty and both services acknowledged everything, then checks each effect once. */
async function expectEffectsOnce(orders: number): Promise<void> {
  await eventually(async () => {
    const stats = (await (await fetch(`${server.baseUrl}/stats`)).json()) as {
      outbox: { depth: number };
      consumers: Record<string, { pending: number; ackPending: number }>;
    };
    expect(stats.outbox.depth).toBe(0);
    for (const name of ['notifications', 'analytics']) {
      expect(stats.consumers[name]).toMatchObject({ pending: 0, ackPending: 0 });
    }
  }, 90_000);
  const effects = await readEffectsPg(databaseUrl);
  const events = effects.storedEventIds.size;
  expect(events).toBe(orders * 5);
  expect(effects.inbox).toEqual({ notifications: events, analytics: events });
  expect(effects.mail).toBe(orders);
  expect(effects.mailDistinctEvents).toBe(orders);
  expect((await analyticsSummary(server.origin)).tables).toMatchObject(expectedOrderAnalytics(orders));
}

describe('the relay on PostgreSQL and NATS JetStream', () => {
  it('republishes rows acknowledged but not marked when killed between the two: the stream holds each once, each service applies each once, and beyond the duplicate window the inbox still does', async () => {
    startServiceProcess('notifications', env());
    startServiceProcess('analytics', env());
    await pushOrders(5);
    const paused = startRelayProcess(env({ OUTPOST_FAULT_RELAY_PAUSE_AFTER_ACK: '1' }));
    await paused.waitForLog('fault injected, pausing after the ack');
    await paused.kill9();
    const client = await nats.client();
    const acked = await streamMessages(client);
    expect(acked).toHaveLength(25);
    expect((await readEffectsPg(databaseUrl)).outboxUnpublished).toBe(25);

    const relay = startRelayProcess(env());
    await expectEffectsOnce(5);
    const once = await streamMessages(client);
    expect(once.map((message) => message.msgId)).toEqual(acked.map((message) => message.msgId));
    await relay.stop();

    // Beyond JetStream's duplicate window (1 s here), the republished copy is stored again: the services'
    // inboxes are what keeps the effect single.
    await pushOrders(2);
    const shortWindow = env({ NATS_DUPLICATE_WINDOW_MS: '1000' });
    const pausedAgain = startRelayProcess({ ...shortWindow, OUTPOST_FAULT_RELAY_PAUSE_AFTER_ACK: '1' });
    await pausedAgain.waitForLog('fault injected, pausing after the ack');
    await pausedAgain.kill9();
    await new Promise((wait) => setTimeout(wait, 1_500));
    startRelayProcess(shortWindow);
    await expectEffectsOnce(7);
    const twice = await streamMessages(client);
    expect(twice).toHaveLength(25 + 2 * 10);
    expect(new Set(twice.map((message) => message.msgId)).size).toBe(35);
    for (const types of firstSeenPerStream(twice).values()) expect(types).toEqual(WHOLE_ORDER);
  }, 120_000);

  it('loses nothing while the broker is down longer than its duplicate window under load: pushes answered throughout, order per stream kept, each effect once', async () => {
    // Messages a service was handed as the broker went down wait out the ack wait: short here, as the window.
    const shortWindow = env({ NATS_DUPLICATE_WINDOW_MS: '1000', SERVICE_ACK_WAIT_MS: '2000' });
    const relay = startRelayProcess(shortWindow);
    const services = [
      startServiceProcess('notifications', shortWindow),
      startServiceProcess('analytics', shortWindow),
    ];
    // Every process is up before the broker goes: the outage must hit a relay that publishes.
    await relay.waitForLog('relay: publishing');
    for (const service of services) await service.waitForLog(': consuming');
    let pushing = true;
    let orders = 0;
    const load = (async () => {
      while (pushing) {
        await pushOrders(1);
        orders += 1;
      }
    })();
    await eventually(async () => expect(orders).toBeGreaterThan(10));
    await nats.stop();
    const ordersWhileDown = orders;
    await relay.waitForLog('relay: broker unreachable');
    await new Promise((wait) => setTimeout(wait, 2_500));
    expect(orders).toBeGreaterThan(ordersWhileDown);
    const waiting = (await (await fetch(`${server.baseUrl}/stats`)).json()) as { outbox: { depth: number } };
    expect(waiting.outbox.depth).toBeGreaterThan(0);
    await nats.start();
    const ordersAtRestart = orders;
    await eventually(async () => expect(orders).toBeGreaterThan(ordersAtRestart + 10));
    pushing = false;
    await load;

    await expectEffectsOnce(orders);
    // Said once, not once per retry.
    expect(relay.logs.filter((line) => line.includes('relay: broker unreachable'))).toHaveLength(1);
    const messages = await streamMessages(await nats.client());
    const streams = firstSeenPerStream(messages);
    expect(streams.size).toBe(orders);
    for (const types of streams.values()) expect(types).toEqual(WHOLE_ORDER);
  }, 120_000);

  it('lets two relays on one database never publish at once: one publishes, the other stands by and takes over after a kill -9, and the stream keeps each stream in order', async () => {
    const first = startRelayProcess(env());
    await first.waitForLog('relay: publishing');
    const second = startRelayProcess(env());
    await second.waitForLog('relay: standby');
    let pushing = true;
    let orders = 0;
    const load = (async () => {
      while (pushing) {
        await pushOrders(1);
        orders += 1;
      }
    })();
    await eventually(async () => expect(orders).toBeGreaterThan(15));
    const killedAt = Date.now();
    await first.kill9();
    await second.waitForLog('relay: publishing');
    const took = JSON.parse(second.logs.find((line) => line.includes('relay: publishing')) ?? '{}') as {
      time: string;
      after: string;
    };
    expect(took.after).toBe('standby');
    expect(Date.parse(took.time)).toBeGreaterThanOrEqual(killedAt - 5);
    const ordersAtTakeover = orders;
    await eventually(async () => expect(orders).toBeGreaterThan(ordersAtTakeover + 10));
    pushing = false;
    await load;

    await eventually(async () => expect((await readEffectsPg(databaseUrl)).outboxUnpublished).toBe(0));
    const messages = await streamMessages(await nats.client());
    // Rows the first relay had acknowledged but not marked are published again inside the window: dropped.
    expect(messages).toHaveLength(orders * 5);
    const streams = firstSeenPerStream(messages);
    expect(streams.size).toBe(orders);
    for (const types of streams.values()) expect(types).toEqual(WHOLE_ORDER);
  }, 120_000);
});
