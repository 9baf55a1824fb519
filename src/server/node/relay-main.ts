import { systemClock } from '../../outbox/ids';
import { parseOutboxConfig } from './broker-config';
import { ConfigError, parseStorageConfig } from './config';
import { jsonLineLogger } from './log';
import { runRelay } from './relay-process';

/**
 * `npm run relay`: publishes the server outbox of the database `npm start` uses (DATABASE_URL, or the SQLite
 * file in DATA_DIR) to NATS JetStream (NATS_URL). Several may run on one PostgreSQL database: one publishes,
 * the others stand by (docs/server-outbox.md).
 */
const logger = jsonLineLogger(systemClock);

async function main(): Promise<void> {
  let storage: ReturnType<typeof parseStorageConfig>;
  let outbox: ReturnType<typeof parseOutboxConfig>;
  try {
    storage = parseStorageConfig(process.env, process.cwd());
    outbox = parseOutboxConfig(process.env);
    if (outbox.broker === null)
      throw new ConfigError(['NATS_URL: the relay needs a broker (nats://host:port)']);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`${error.message}\n`);
    process.exit(1);
  }
  const running = await runRelay(storage, outbox, systemClock, logger);
  const shutdown = (signal: NodeJS.Signals): void => {
    logger({ level: 'info', msg: 'relay: stopping', signal });
    running.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
}

main().catch((error: unknown) => {
  logger({
    level: 'error',
    msg: 'relay failed to start',
    error: error instanceof Error ? error.message : String(error),
  });
  process.exit(1);
});
