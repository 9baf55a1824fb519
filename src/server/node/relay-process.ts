import { join } from 'node:path';
import type { NatsConnection } from '@nats-io/transport-node';
import { type Clock, newId } from '../../outbox/ids';
import { type Relay, type RelayStore, startRelay } from '../../outbox/server';
import type { OutboxConfig } from './broker-config';
import { DATABASE_FILE, type StorageConfig } from './config';
import type { Logger } from './log';
import { connectBroker, createJetStreamPublisher } from './nats-broker';
import { createPgRelayStore, migratePgAt } from './pg-outbox';
import { createSqliteRelayStore } from './sqlite-outbox';

export interface RunningRelay {
  readonly relay: Relay;
  stop(): Promise<void>;
}

/** The relay's store on the database the server uses: PostgreSQL with DATABASE_URL, else the SQLite file. */
export function openRelayStore(storage: StorageConfig, clock: Clock): RelayStore {
  if (storage.database) {
    return createPgRelayStore({
      url: storage.database.url,
      statementTimeoutMs: storage.database.statementTimeoutMs,
    });
  }
  return createSqliteRelayStore({ file: join(storage.dataDir, DATABASE_FILE), clock, holder: newId() });
}

/**
 * The relay as `npm run relay` runs it, and as `npm start` runs it inside the server on SQLite: the outbox's
 * store, the broker (waited for, and reconnected to for ever), and the loop.
 */
export async function runRelay(
  storage: StorageConfig,
  outbox: OutboxConfig,
  clock: Clock,
  logger: Logger,
): Promise<RunningRelay> {
  const broker = outbox.broker;
  if (broker === null) throw new Error('The relay needs NATS_URL');
  if (storage.database) await migratePgAt(storage.database.url);
  logger({ level: 'info', msg: 'relay: connecting to the broker', broker: new URL(broker.url).host });
  const connection: NatsConnection = await connectBroker(broker, 'relay', logger);
  const relay = startRelay({
    store: openRelayStore(storage, clock),
    publisher: createJetStreamPublisher(connection, broker),
    clock,
    log: logger,
    pollMs: outbox.relayPollMs,
    batchSize: outbox.relayBatchSize,
    retentionMs: outbox.retentionMs,
    ...(outbox.faults.relayPauseAfterAck
      ? {
          afterAck: async (rows) => {
            logger({ level: 'warn', msg: 'relay: fault injected, pausing after the ack', rows: rows.length });
            await new Promise<never>(() => undefined);
          },
        }
      : {}),
  });
  return {
    relay,
    async stop() {
      await relay.stop();
      await connection.drain().catch(() => undefined);
    },
  };
}
