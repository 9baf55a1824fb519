import { join } from 'node:path';
import { systemClock } from '../../outbox/ids';
import {
  type ConsumerStore,
  consumerServices,
  createReactionRegistry,
  type Delivery,
  startConsumer,
} from '../../outbox/server';
import { serverReactions } from '../../server-plugins';
import { parseOutboxConfig } from './broker-config';
import { ConfigError, DATABASE_FILE, parseStorageConfig } from './config';
import { jsonLineLogger } from './log';
import {
  connectBroker,
  ensureConsumer,
  ensureStream,
  jetstreamManager,
  openDeliverySource,
} from './nats-broker';
import { createPgConsumerStore } from './pg-consumer-store';
import { migratePgAt } from './pg-outbox';
import { runReplayCli } from './replay-cli';
import { createSqliteConsumerStore } from './sqlite-consumer-store';

/**
 * `npm run service -- <name>`: one consumer service of the server outbox (`notifications`, `analytics`) on
 * the database `npm start` uses (DATABASE_URL, or the SQLite file in DATA_DIR) and the broker (NATS_URL).
 * `npm run service -- replay-parked <name> …` applies its parked messages again (replay-cli.ts).
 */
const logger = jsonLineLogger(systemClock);

async function main(): Promise<void> {
  const services = consumerServices();
  const name = process.argv[2] ?? '';
  const service = services[name];
  let storage: ReturnType<typeof parseStorageConfig>;
  let outbox: ReturnType<typeof parseOutboxConfig>;
  try {
    if (!service)
      throw new ConfigError([
        `service: name one of ${Object.keys(services).join(', ')} (npm run service -- analytics), or replay-parked <name> (--all | <sequence>…) to apply its parked messages again`,
      ]);
    storage = parseStorageConfig(process.env, process.cwd());
    outbox = parseOutboxConfig(process.env);
    if (outbox.broker === null)
      throw new ConfigError(['NATS_URL: a service needs the broker (nats://host:port)']);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`${error.message}\n`);
    process.exit(1);
  }
  const broker = outbox.broker;
  if (!service || broker === null) return;
  if (storage.database) await migratePgAt(storage.database.url);
  const store: ConsumerStore = storage.database
    ? createPgConsumerStore(
        {
          url: storage.database.url,
          poolSize: 2,
          statementTimeoutMs: storage.database.statementTimeoutMs,
          transactionTimeoutMs: storage.database.transactionTimeoutMs,
        },
        systemClock,
      )
    : createSqliteConsumerStore(join(storage.dataDir, DATABASE_FILE), systemClock);

  const connection = await connectBroker(broker, name, logger);
  const manager = await jetstreamManager(connection);
  await ensureStream(manager, broker.duplicateWindowMs, 'create');
  await ensureConsumer(manager, service.name, outbox.serviceAckWaitMs);
  const source = await openDeliverySource(connection, service.name);

  const crash = outbox.faults.serviceCrash;
  let seen = 0;
  const maybeCrash = (at: string) => (batch: readonly Delivery[]) => {
    if (crash?.at !== at) return;
    if (seen + batch.length >= crash.afterMessages) {
      logger({ level: 'warn', msg: `${name}: fault injected, killed ${at}` });
      process.kill(process.pid, 'SIGKILL');
    }
  };
  const runtime = startConsumer({
    service,
    registry: createReactionRegistry(serverReactions),
    source,
    store,
    clock: systemClock,
    log: logger,
    maxAttempts: outbox.serviceMaxAttempts,
    inboxRetentionMs: outbox.serviceInboxRetentionMs,
    // Twice the ack wait: the messages a killed service held come back before a successor gives up on them.
    orderWaitMs: 2 * outbox.serviceAckWaitMs,
    faults: {
      insideTransaction: maybeCrash('inside-transaction'),
      afterCommit: (batch) => {
        maybeCrash('after-commit')(batch);
        seen += batch.length;
      },
    },
  });
  logger({ level: 'info', msg: `${name}: consuming`, consumer: service.name });

  const shutdown = (signal: NodeJS.Signals): void => {
    logger({ level: 'info', msg: `${name}: stopping`, signal });
    runtime
      .stop()
      .then(() => connection.drain())
      .then(() => store.close())
      .then(
        () => process.exit(0),
        () => process.exit(1),
      );
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
}

if (process.argv[2] === 'replay-parked') {
  runReplayCli(process.argv.slice(3), {
    env: process.env,
    cwd: process.cwd(),
    out: (text) => process.stdout.write(text),
    err: (text) => process.stderr.write(text),
  }).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`error: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exitCode = 1;
    },
  );
} else {
  main().catch((error: unknown) => {
    logger({
      level: 'error',
      msg: 'service failed to start',
      error: error instanceof Error ? error.message : String(error),
    });
    process.exit(1);
  });
}
