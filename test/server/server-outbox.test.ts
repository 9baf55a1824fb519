import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock, uuidv7Generator } from '../../src/outbox/ids';
import type { WireClientEvent } from '../../src/outbox/protocol/messages';
import { createMemoryStorage, startRelay } from '../../src/outbox/server';
import { runOutboxContract } from '../../src/outbox/server/testing';
import type { LogRecord } from '../../src/server/node/log';
import { connectBroker, createJetStreamPublisher } from '../../src/server/node/nats-broker';
import { createPgOutboxStats, createPgRelayStore } from '../../src/server/node/pg-outbox';
import { createPgStorage } from '../../src/server/node/pg-storage';
import { createSqliteOutboxStats, createSqliteRelayStore } from '../../src/server/node/sqlite-outbox';
import { createSqliteStorage } from '../../src/server/node/sqlite-storage';
import { OrderStreamBuilder } from './protocol-contract';
import { startTestNats, type TestNats } from './support/nats';
import { eventually, streamMessages } from './support/outbox-processes';
import { startTestPostgres, type TestPostgres } from './support/postgres';
import { tempDir } from './support/server-process';

let postgres: TestPostgres;
let nats: TestNats;
const temp = tempDir('server-outbox');
beforeAll(async () => {
  [postgres, nats] = await Promise.all([startTestPostgres(), startTestNats()]);
}, 60_000);
afterAll(async () => {
  await Promise.all([postgres?.stop(), nats?.close()]);
  temp.remove();
});

const vitestApi = { afterEach, beforeEach, describe, expect, it };

runOutboxContract(
  'memory',
  async () => {
    const clock = new ManualClock();
    const storage = createMemoryStorage({ clock });
    return {
      storage,
      relayStore: storage.outbox,
      stats: storage.outbox,
      setNow: (now) => clock.set(now),
      cleanup: () => storage.close(),
    };
  },
  vitestApi,
);

let files = 0;
runOutboxContract(
  'sqlite',
  async () => {
    const clock = new ManualClock();
    files += 1;
    const file = join(temp.path, `contract-${files}.sqlite`);
    const storage = createSqliteStorage({ file, clock });
    const stats = createSqliteOutboxStats(file);
    return {
      storage,
      relayStore: createSqliteRelayStore({ file, clock, holder: 'contract' }),
      stats,
      setNow: (now) => clock.set(now),
      cleanup: async () => {
        await stats.close();
        await storage.close();
      },
    };
  },
  vitestApi,
);

runOutboxContract(
  'postgresql',
  async () => {
    const clock = new ManualClock();
    const url = await postgres.createDatabase();
    const storage = await createPgStorage({ url, clock });
    const stats = createPgOutboxStats(url);
    return {
      storage,
      relayStore: createPgRelayStore({ url, statementTimeoutMs: 10_000 }),
      stats,
      setNow: (now) => clock.set(now),
      cleanup: async () => {
        await stats.close();
        await storage.close();
      },
    };
  },
  vitestApi,
);

describe('relay leadership', () => {
  it('lets one relay of a PostgreSQL database publish at a time, and the other take over once its session ends', async () => {
    const url = await postgres.createDatabase();
    const storage = await createPgStorage({ url });
    const first = createPgRelayStore({ url, statementTimeoutMs: 10_000 });
    const second = createPgRelayStore({ url, statementTimeoutMs: 10_000 });
    expect(await first.lead()).toBe(true);
    expect(await second.lead()).toBe(false);
    expect(await second.unpublished(10)).toEqual([]);
    expect(await first.lead()).toBe(true);
    await first.close();
    expect(await second.lead()).toBe(true);
    expect(await first.lead()).toBe(false);
    await Promise.all([first.close(), second.close(), storage.close()]);
  });

  it('lets one relay of a SQLite file publish at a time: a lease, taken over once given back or expired', async () => {
    const clock = new ManualClock();
    const file = join(temp.path, 'lease.sqlite');
    const storage = createSqliteStorage({ file, clock });
    const first = createSqliteRelayStore({ file, clock, holder: 'first', leaseMs: 10_000 });
    const second = createSqliteRelayStore({ file, clock, holder: 'second', leaseMs: 10_000 });
    const third = createSqliteRelayStore({ file, clock, holder: 'third', leaseMs: 10_000 });
    expect(await first.lead()).toBe(true);
    expect(await second.lead()).toBe(false);
    clock.advance(6_000);
    // Renewed at half-time: still the first's 9 s later.
    expect(await first.lead()).toBe(true);
    clock.advance(9_000);
    expect(await second.lead()).toBe(false);
    // The first stops renewing (it died): the lease expires and another takes it.
    clock.advance(2_000);
    expect(await second.lead()).toBe(true);
    expect(await first.lead()).toBe(false);
    await second.close();
    expect(await third.lead()).toBe(true);
    await Promise.all([first.close(), third.close(), storage.close()]);
  });
});

describe('relay to NATS JetStream', () => {
  const ids = uuidv7Generator();
  beforeEach(() => nats.reset());

  it('publishes every row in order under its eventId, marks it, and prunes it once the retention has passed', async () => {
    const clock = new ManualClock();
    const storage = createMemoryStorage({ clock });
    const clientId = ids();
    const orders = Array.from({ length: 3 }, () => new OrderStreamBuilder(ids, clientId));
    const written: WireClientEvent[] = [];
    for (const order of orders) {
      const events = [order.created('Ada'), order.added('WIDGET-1', 2, 1250), order.placed(2500, 1)];
      written.push(...events);
      await storage.transaction((tx) =>
        tx.write({
          clientId,
          clientEvents: events,
          claims: { owner: 'ada', client: true, streams: [events[0]?.streamId ?? ''] },
        }),
      );
    }
    const logs: LogRecord[] = [];
    const log = (record: LogRecord) => logs.push(record);
    const broker = { url: nats.url, duplicateWindowMs: 120_000, publishTimeoutMs: 5_000 };
    const connection = await connectBroker(broker, 'test-relay', log);
    const relay = startRelay({
      store: storage.outbox,
      publisher: createJetStreamPublisher(connection, broker),
      clock,
      log,
      pollMs: 5,
      retentionMs: 60_000,
      pruneEveryMs: 0,
      batchSize: 4,
    });
    try {
      await eventually(async () => expect((await storage.outbox.outboxStats(clock.now())).depth).toBe(0));
      const client = await nats.client();
      const stored = await streamMessages(client);
      // Each stream's rows numbered from 1 in its order, as the services apply them.
      expect(
        stored.map((message) => [message.subject, message.msgId, message.body, message.streamSeq]),
      ).toEqual(written.map((event) => [`outpost.order.${event.type}`, event.eventId, event, event.version]));
      expect(logs.some((record) => record.msg.startsWith('relay: pruned'))).toBe(false);
      clock.advance(60_001);
      await eventually(async () =>
        expect(logs.find((record) => record.msg.startsWith('relay: pruned'))).toMatchObject({ rows: 9 }),
      );
      expect(await storage.outbox.outboxStats(clock.now())).toEqual({
        depth: 0,
        oldestUnpublishedMs: 0,
        publishedPerSecond: 0,
      });
    } finally {
      await relay.stop();
      await connection.close();
    }
  });
});
