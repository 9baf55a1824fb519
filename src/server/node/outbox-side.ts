import { join } from 'node:path';
import type { JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Clock } from '../../outbox/ids';
import {
  ANALYTICS,
  type AnalyticsSummary,
  createReactionRegistry,
  errorText,
  NOTIFICATIONS,
  type OutboxStatsReader,
  summarizeAnalytics,
} from '../../outbox/server';
import { serverReactions } from '../../server-plugins';
import type { OutboxConfig } from './broker-config';
import { DATABASE_FILE, type StorageConfig } from './config';
import type { Logger } from './log';
import { connectBroker, consumerLag, jetstreamManager } from './nats-broker';
import { createPgServicesReader, type ServicesReader } from './pg-consumer-store';
import { createPgOutboxStats } from './pg-outbox';
import { type RunningRelay, runRelay } from './relay-process';
import { createSqliteServicesReader } from './sqlite-consumer-store';
import { createSqliteOutboxStats } from './sqlite-outbox';

/**
 * What the server shows of its outbox and the services behind it: the outbox's figures and each consumer's
 * lag in `GET /api/sync/stats`, and the analytics summary. On SQLite with NATS_URL it also runs the relay
 * in this process (one process owns the file anyway); on PostgreSQL the relay is `npm run relay`.
 */
export interface OutboxSide {
  moreStats(): Promise<Readonly<Record<string, unknown>>>;
  analytics(owner: string | null): Promise<AnalyticsSummary>;
  close(): Promise<void>;
}

const CONSUMERS = [NOTIFICATIONS, ANALYTICS] as const;
/** A stats request never waits longer than this for the broker. */
const BROKER_STATS_TIMEOUT_MS = 1_000;

export function openOutboxSide(
  storage: StorageConfig,
  outbox: OutboxConfig,
  clock: Clock,
  logger: Logger,
): OutboxSide {
  const file = join(storage.dataDir, DATABASE_FILE);
  const stats: OutboxStatsReader & { close(): Promise<void> } = storage.database
    ? createPgOutboxStats(storage.database.url)
    : createSqliteOutboxStats(file);
  const services: ServicesReader = storage.database
    ? createPgServicesReader(storage.database.url)
    : createSqliteServicesReader(file);
  const registry = createReactionRegistry(serverReactions);

  let connection: NatsConnection | null = null;
  let manager: JetStreamManager | null = null;
  let relay: RunningRelay | null = null;
  let closed = false;
  const broker = outbox.broker;
  if (broker === null) {
    // Once, at start: the outbox is not lost, it waits for a broker.
    logger({
      level: 'info',
      msg:
        'no broker configured (NATS_URL unset): the server outbox keeps every accepted event and decision ' +
        'until a relay publishes them (docs/server-outbox.md)',
    });
  } else {
    // In the background: the server answers pushes whether or not the broker is up.
    void connectBroker(broker, 'server-stats', logger)
      .then(async (connected) => {
        if (closed) return connected.close();
        connection = connected;
        manager = await jetstreamManager(connected, { timeout: BROKER_STATS_TIMEOUT_MS });
      })
      .catch((error: unknown) =>
        logger({ level: 'warn', msg: 'broker: cannot connect', error: errorText(error) }),
      );
    if (storage.database === null) {
      void runRelay(storage, outbox, clock, logger)
        .then(async (running) => {
          if (closed) await running.stop();
          else relay = running;
        })
        .catch((error: unknown) => logger({ level: 'error', msg: 'relay failed', error: errorText(error) }));
    } else {
      logger({ level: 'info', msg: 'the relay runs apart on PostgreSQL: npm run relay' });
    }
  }

  async function lag(name: string, now: number): Promise<Record<string, unknown>> {
    const current = manager;
    if (current === null) return { broker: broker === null ? 'none' : 'unreachable' };
    const timeout = new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error('the broker did not answer')), BROKER_STATS_TIMEOUT_MS).unref(),
    );
    try {
      return { ...(await Promise.race([consumerLag(current, name, now), timeout])) };
    } catch (error) {
      return { broker: 'unreachable', error: errorText(error) };
    }
  }

  return {
    async moreStats() {
      const now = clock.now();
      const [figures, parked] = await Promise.all([stats.outboxStats(now), services.parkedCounts()]);
      const consumers: Record<string, unknown> = {};
      await Promise.all(
        CONSUMERS.map(async (name) => {
          consumers[name] = { ...(await lag(name, now)), parked: parked[name] ?? 0 };
        }),
      );
      return { outbox: figures, consumers };
    },
    async analytics(owner) {
      return summarizeAnalytics(registry, await services.counterCells(owner));
    },
    async close() {
      closed = true;
      await relay?.stop();
      await (connection as NatsConnection | null)?.close().catch(() => undefined);
      await Promise.all([stats.close(), services.close()]);
    },
  };
}
