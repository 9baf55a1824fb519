import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uuidv7Generator } from '../../src/outbox/ids';
import type { WireClientEvent } from '../../src/outbox/protocol/messages';
import { runProtocolContract } from './protocol-contract';
import { fuzzPushBodies } from './support/fuzz';
import { startTestPostgres, type TestPostgres } from './support/postgres';
import {
  provisionDeviceToken,
  type ServerProcess,
  startServerProcess,
  stopAllServers,
  tempDir,
} from './support/server-process';
import { delivered, ordersFor, pullAll, push, readStoredPg } from './support/sync-client';

/**
 * Several real server processes on one PostgreSQL database: any of them takes any request. One cluster for
 * the file; the tests run one after another (the restart test stops the cluster under everybody's feet).
 */

const temp = tempDir('pg-instances');
const ids = uuidv7Generator();
let postgres: TestPostgres;

afterAll(async () => {
  await stopAllServers();
  await postgres?.stop();
  temp.remove();
});

/** `count` instances on `url`, each on its own port, as a load balancer would see them. */
function startInstances(url: string, count: number, auth: 'none' | 'users'): Promise<ServerProcess[]> {
  return Promise.all(
    Array.from({ length: count }, () =>
      startServerProcess({
        dataDir: temp.path,
        auth,
        env: { DATABASE_URL: url, DATABASE_POOL_SIZE: '6' },
      }),
    ),
  );
}

/** The users' instances: AUTH=users, one device token made with the real CLI on the shared database. */
let shared: { url: string; token: string; instances: ServerProcess[] } | undefined;
beforeAll(async () => {
  postgres = await startTestPostgres();
  const url = await postgres.createDatabase();
  const token = await provisionDeviceToken(temp.path, 'machine', { DATABASE_URL: url });
  shared = { url, token, instances: await startInstances(url, 2, 'users') };
}, 120_000);
const sharedPair = () => {
  if (!shared) throw new Error('the instances did not start');
  return shared;
};

runProtocolContract(
  'two server instances on one PostgreSQL database, alternating every request',
  async () => {
    const { instances, token } = sharedPair();
    const [first, second] = instances;
    if (!first || !second) throw new Error('two instances expected');
    let turn = 0;
    return {
      // Every request goes to the other instance than the one before.
      fetch: async (request) => {
        turn += 1;
        const to = turn % 2 === 0 ? first : second;
        const url = new URL(request.url);
        const body =
          request.method === 'GET' || request.method === 'HEAD' ? undefined : await request.arrayBuffer();
        return fetch(`${to.origin}${url.pathname}${url.search}`, {
          method: request.method,
          headers: request.headers,
          ...(body === undefined ? {} : { body }),
        });
      },
      baseUrl: first.baseUrl,
      token,
      cursorForm: /^(0|t\d+\.\d+)$/,
      cleanup: async () => undefined,
    };
  },
);

const counts = async (instance: ServerProcess, token?: string) => {
  const response = await fetch(`${instance.baseUrl}/stats`, {
    headers: token ? { authorization: `Bearer ${token}` } : {},
  });
  // Without the moment's figures: how long a transaction or the oldest outbox row has waited, consumers' lag.
  const {
    oldestOpenTransactionMs: _moment,
    outbox,
    consumers: _lag,
    ...stored
  } = (await response.json()) as Record<string, unknown> & { outbox: { depth: number } };
  return { ...stored, outboxDepth: outbox.depth };
};

describe('server instances on PostgreSQL', () => {
  it('refuses malformed and random bodies with a 4xx, never a 5xx, and stores nothing', async () => {
    const { instances, token } = sharedPair();
    const [instance] = instances;
    if (!instance) throw new Error('no instance');
    const before = await counts(instance, token);
    await fuzzPushBodies(instance.baseUrl, { authorization: `Bearer ${token}` });
    expect(await counts(instance, token)).toEqual(before);
  }, 60_000);

  it('answers the same batch arriving at both instances at the same moment once accepted and once duplicate, as a resend', async () => {
    const { instances, token } = sharedPair();
    const [a, b] = instances;
    if (!a || !b) throw new Error('two instances expected');
    const pairs = await Promise.all(
      Array.from({ length: 10 }, async () => {
        const clientId = ids();
        const events = ordersFor(ids, clientId, 3).flat();
        const batchId = ids();
        return Promise.all([
          push(a.baseUrl, token, clientId, events, batchId),
          push(b.baseUrl, token, clientId, events, batchId),
        ]);
      }),
    );
    for (const answers of pairs) {
      const statuses = answers.map((answer) =>
        [...new Set(answer.results.map((result) => result.status))].join(),
      );
      expect(statuses.sort()).toEqual(['accepted', 'duplicate']);
      // The decisions went to the winner's answer only; the loser's arrive by pull.
      expect(answers.map((answer) => answer.serverEvents.length).sort()).toEqual([0, 3]);
    }
  }, 60_000);

  it('stores every event of 20 clients pushing overlapping batches to two instances, the same batch to both at once, exactly once', async () => {
    const { instances, token, url } = sharedPair();
    const [a, b] = instances;
    if (!a || !b) throw new Error('two instances expected');
    const before = await readStoredPg(url);
    const clients = Array.from({ length: 20 }, () => {
      const clientId = ids();
      return { clientId, events: ordersFor(ids, clientId, 10).flat() };
    });
    const total = clients.reduce((sum, client) => sum + client.events.length, 0);

    // Each client fires at once: its first 30 events to both instances (one batchId: a resend racing its
    // original on another instance), and two batches overlapping those, one to each instance.
    await Promise.all(
      clients.flatMap(({ clientId, events }) => {
        const firstBatch = ids();
        return [
          push(a.baseUrl, token, clientId, events.slice(0, 30), firstBatch),
          push(b.baseUrl, token, clientId, events.slice(0, 30), firstBatch),
          push(b.baseUrl, token, clientId, events.slice(20, 40), ids()),
          push(a.baseUrl, token, clientId, events.slice(10, 30), ids()),
        ];
      }),
    );
    // Then each resends what is not yet acknowledged, alternating instances, until everything is delivered.
    await Promise.all(
      clients.map(async ({ clientId, events }) => {
        let pending: WireClientEvent[] = events;
        for (let round = 0; pending.length > 0; round += 1) {
          if (round > 10) throw new Error('delivery does not converge');
          const answer = await push(instances[round % 2]?.baseUrl ?? '', token, clientId, pending, ids());
          const done = new Set(delivered(answer));
          pending = pending.filter((event) => !done.has(event.eventId));
        }
      }),
    );

    const stored = await readStoredPg(url);
    expect(stored).toMatchObject({
      clientEvents: before.clientEvents + total,
      distinctEventIds: before.distinctEventIds + total,
      streamsWithHoles: 0,
      streamsDecidedTwice: 0,
      unownedStreams: 0,
      serverEvents: before.serverEvents + 200,
    });
    for (const { events } of clients)
      for (const event of events) expect(stored.storedIds.has(event.eventId)).toBe(true);
    expect(new Set(stored.orderNumbers).size).toBe(stored.orderNumbers.length);

    // Every decision is reachable by pull from either instance, and both give the same answer.
    for (const { clientId, events } of clients) {
      const streams = new Set(events.map((event) => event.streamId));
      const [fromA, fromB] = await Promise.all([
        pullAll(a.baseUrl, token, clientId),
        pullAll(b.baseUrl, token, clientId),
      ]);
      expect(fromA).toEqual(fromB);
      expect(new Set(fromA.map((event) => event.streamId))).toEqual(streams);
      expect(fromA.every((event) => event.type === 'OrderConfirmed')).toBe(true);
    }
  }, 120_000);
});

interface Client {
  readonly clientId: string;
  /** Batches of 20 events (five whole orders), in the order the client sends them. */
  readonly batches: WireClientEvent[][];
  readonly acknowledged: Set<string>;
}

function loadClients(count: number, orders: number): Client[] {
  return Array.from({ length: count }, () => {
    const clientId = ids();
    const all = ordersFor(ids, clientId, orders);
    const batches: WireClientEvent[][] = [];
    for (let index = 0; index < all.length; index += 5) batches.push(all.slice(index, index + 5).flat());
    return { clientId, batches, acknowledged: new Set<string>() };
  });
}

describe('faults with several instances on PostgreSQL', () => {
  it('loses nothing acknowledged and stores nothing twice when one of two instances is killed -9 under load', async () => {
    const url = await postgres.createDatabase();
    const [doomed, survivor] = await startInstances(url, 2, 'none');
    if (!doomed || !survivor) throw new Error('two instances expected');
    const clients = loadClients(6, 60);
    const total = clients.reduce((sum, client) => sum + client.batches.flat().length, 0);

    // Clients spread over both instances; after 20 answered pushes the first is killed with pushes in
    // flight. A client whose request fails resends everything unacknowledged to the other one.
    let answered = 0;
    let killed: Promise<void> | null = null;
    let failovers = 0;
    await Promise.all(
      clients.map(async (client, index) => {
        let target = index % 2 === 0 ? doomed : survivor;
        for (const batch of client.batches) {
          for (;;) {
            const unsent = batch.filter((event) => !client.acknowledged.has(event.eventId));
            if (unsent.length === 0) break;
            try {
              const answer = await push(target.baseUrl, undefined, client.clientId, unsent, ids());
              for (const eventId of delivered(answer)) client.acknowledged.add(eventId);
              answered += 1;
              if (answered === 20) killed = doomed.kill9();
            } catch {
              if (target === survivor) throw new Error('the surviving instance failed a push');
              failovers += 1;
              target = survivor;
            }
          }
        }
      }),
    );
    await killed;
    expect(killed).not.toBeNull();
    expect(failovers).toBeGreaterThan(0);

    const stored = await readStoredPg(url);
    expect(stored).toMatchObject({
      clientEvents: total,
      distinctEventIds: total,
      streamsWithHoles: 0,
      streamsDecidedTwice: 0,
      serverEvents: total / 4,
    });
    expect(new Set(stored.orderNumbers).size).toBe(total / 4);
    for (const client of clients) expect(client.acknowledged.size).toBe(client.batches.flat().length);
    await survivor.stop();
  }, 120_000);

  it('answers 503 with Retry-After while PostgreSQL restarts under load, reconnects by itself, and loses nothing acknowledged', async () => {
    const cluster = postgres.cluster;
    if (!cluster) throw new Error('this test restarts its own cluster; unset TEST_DATABASE_URL');
    const { instances, token, url } = sharedPair();
    const before = await readStoredPg(url);
    const clients = loadClients(4, 40);
    const total = clients.reduce((sum, client) => sum + client.batches.flat().length, 0);
    const statuses = new Map<number, number>();
    const retryAfter = new Set<string | null>();
    const healthWhileDown: number[] = [];
    let answered = 0;
    let restarted: Promise<void> | null = null;

    const restart = async () => {
      await cluster.stop('immediate');
      for (const instance of instances)
        healthWhileDown.push((await fetch(`${instance.baseUrl}/health`)).status);
      await new Promise((wait) => setTimeout(wait, 500));
      await cluster.start();
    };

    // Each client sends its batches in order to alternating instances, waits Retry-After's worth (shortened
    // to 200 ms) on a 503 and sends the unacknowledged rest again, as an outbox does.
    await Promise.all(
      clients.map(async (client, index) => {
        let turn = index;
        for (const batch of client.batches) {
          for (let attempt = 0; ; attempt += 1) {
            if (attempt > 200) throw new Error('delivery does not resume after the restart');
            const unsent = batch.filter((event) => !client.acknowledged.has(event.eventId));
            if (unsent.length === 0) break;
            turn += 1;
            const instance = instances[turn % instances.length];
            if (!instance) throw new Error('no instance');
            const response = await fetch(`${instance.baseUrl}/push`, {
              method: 'POST',
              headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
              body: JSON.stringify({
                protocol: 1,
                clientId: client.clientId,
                batchId: ids(),
                events: unsent,
              }),
            });
            statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
            if (response.status !== 200) {
              retryAfter.add(response.headers.get('retry-after'));
              await response.arrayBuffer();
              await new Promise((wait) => setTimeout(wait, 200));
              continue;
            }
            const answer = (await response.json()) as { results: { eventId: string; status: string }[] };
            for (const result of answer.results) {
              if (result.status === 'accepted' || result.status === 'duplicate')
                client.acknowledged.add(result.eventId);
            }
            answered += 1;
            if (answered === 10) restarted = restart();
          }
        }
      }),
    );
    await restarted;
    expect(restarted).not.toBeNull();
    expect([...statuses.keys()].sort()).toEqual([200, 503]);
    expect(retryAfter).toEqual(new Set(['2']));
    expect(healthWhileDown.every((status) => status === 503)).toBe(true);

    // Nobody restarted the instances: both answer health, and every acknowledged event is stored once.
    for (const instance of instances) expect((await fetch(`${instance.baseUrl}/health`)).status).toBe(200);
    const stored = await readStoredPg(url);
    expect(stored).toMatchObject({
      clientEvents: before.clientEvents + total,
      distinctEventIds: before.distinctEventIds + total,
      streamsWithHoles: 0,
      streamsDecidedTwice: 0,
      serverEvents: before.serverEvents + total / 4,
    });
    for (const client of clients)
      for (const eventId of client.acknowledged) expect(stored.storedIds.has(eventId)).toBe(true);
  }, 120_000);
});
