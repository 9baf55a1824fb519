import { systemClock } from '../../outbox/ids';
import { parseOutboxConfig } from './broker-config';
import { ConfigError, parseConfig } from './config';
import { jsonLineLogger } from './log';
import { startServer } from './server';

/**
 * Entry point of the reference server (`npm start`, or `node --import tsx src/server/node/main.ts`).
 * Settings come from the environment (docs/server.md); a bad value stops it with exit code 1.
 */

const logger = jsonLineLogger(systemClock);

async function main(): Promise<void> {
  let config: ReturnType<typeof parseConfig>;
  let outbox: ReturnType<typeof parseOutboxConfig>;
  try {
    config = parseConfig(process.env, process.cwd());
    outbox = parseOutboxConfig(process.env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`${error.message}\n`);
    process.exit(1);
  }

  const server = await startServer(config, { logger, clock: systemClock, outbox });
  logger({
    level: 'info',
    msg: 'listening',
    url: server.url,
    port: server.port,
    // The URL may hold a password: only where the data lives is logged.
    storage: config.database ? `postgresql ${new URL(config.database.url).host}` : 'sqlite',
    dataDir: config.database ? null : config.dataDir,
    distDir: config.distDir,
    auth: config.auth,
    trustProxy: config.trustProxyHops,
    cors: config.corsOrigins?.join(',') ?? null,
  });
  if (config.auth === 'none') {
    const local = /^(127\.|::1$|localhost$)/.test(config.host);
    logger({
      level: local ? 'info' : 'warn',
      msg:
        'sync is open (AUTH=none): no sign-in, anyone who can reach this server can send and read orders. ' +
        'Fine for one person on this machine; set AUTH=users for anything else (docs/server.md)',
      url: server.url,
    });
  }

  const shutdown = (signal: NodeJS.Signals): void => {
    logger({ level: 'info', msg: 'shutting down', signal });
    server.close().then(
      (clean) => {
        logger({
          level: clean ? 'info' : 'warn',
          msg: clean ? 'stopped' : 'stopped after cutting connections',
        });
        process.exit(clean ? 0 : 1);
      },
      (error: unknown) => {
        logger({ level: 'error', msg: 'shutdown failed', error: String(error) });
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
}

main().catch((error: unknown) => {
  logger({
    level: 'error',
    msg: 'failed to start',
    error: error instanceof Error ? error.message : String(error),
  });
  process.exit(1);
});
