import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { systemClock } from '../../outbox/ids';
import {
  type ConsumerService,
  type ConsumerStore,
  consumerServices,
  createReactionRegistry,
  type ReplayOutcome,
  ReplayRefusedError,
  replayParked,
} from '../../outbox/server';
import { serverReactions } from '../../server-plugins';
import { ConfigError, DATABASE_FILE, parseStorageConfig, type StorageConfig } from './config';
import { createPgConsumerStore } from './pg-consumer-store';
import { migratePgAt } from './pg-outbox';
import { createSqliteConsumerStore } from './sqlite-consumer-store';

/**
 * `npm run service -- replay-parked <service> (--all | <sequence>…)`: applies a service's parked messages
 * again once what made them fail is fixed (docs/server-outbox.md, "Replaying parked messages"). Needs the
 * database only, not the broker: a parked message's body is in `consumer_parked`.
 */

const usage = (
  names: readonly string[],
) => `Usage: npm run service -- replay-parked <${names.join('|')}> (--all | <sequence>…)

  Applies the service's parked messages again, each through its inbox and reactions as a delivery would be,
  and removes it from consumer_parked in the same transaction. A message whose event was applied already
  changes nothing; one that fails again stays parked with its new reason. Sequences are the broker's, as
  consumer_parked lists them. Safe while the service runs.

Settings: DATA_DIR or DATABASE_URL, as for npm start (the broker is not needed).
Exit codes: 0 every message named left the parked messages, 1 some stay parked or are not parked (then
nothing was written), 2 usage error (nothing written).
`;

/** A request the CLI refuses before it opens the database. */
export class ReplayUsageError extends Error {
  constructor(
    readonly code: 'unknown_service' | 'bad_sequence' | 'no_selection',
    message: string,
  ) {
    super(message);
    this.name = 'ReplayUsageError';
  }
}

/** What `replay-parked` was asked: which service, which of its parked messages. */
export interface ReplayRequest {
  readonly service: ConsumerService<unknown>;
  readonly selection: 'all' | readonly number[];
}

/** Reads `<service> (--all | <sequence>…)`; throws `ReplayUsageError` saying what is wrong. */
export function parseReplayRequest(
  argv: readonly string[],
  services: Readonly<Record<string, ConsumerService<unknown>>>,
): ReplayRequest {
  const [name, ...rest] = argv;
  const names = Object.keys(services);
  const service = name === undefined ? undefined : services[name];
  if (!service) {
    throw new ReplayUsageError(
      'unknown_service',
      name === undefined
        ? `name a service: ${names.join(' or ')}`
        : `there is no service ${JSON.stringify(name)}: name ${names.join(' or ')}`,
    );
  }
  if (rest.length === 1 && rest[0] === '--all') return { service, selection: 'all' };
  if (rest.length === 0) {
    throw new ReplayUsageError(
      'no_selection',
      'name the sequences to replay, or --all for every parked message',
    );
  }
  const selection: number[] = [];
  for (const arg of rest) {
    const sequence = /^\d{1,15}$/.test(arg) ? Number(arg) : Number.NaN;
    if (!Number.isSafeInteger(sequence) || sequence < 1) {
      throw new ReplayUsageError(
        'bad_sequence',
        arg === '--all'
          ? '--all replays every parked message: give it alone, without sequences'
          : `${JSON.stringify(arg)} is not a sequence (a whole number from 1, as consumer_parked lists them)`,
      );
    }
    if (!selection.includes(sequence)) selection.push(sequence);
  }
  return { service, selection };
}

/** Exit codes: 0 done, 1 some stay parked or were not parked, 2 usage error. */
export type ReplayExitCode = 0 | 1 | 2;

export interface ReplayCliIo {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
}

const describe = (outcome: ReplayOutcome): string => {
  const { message } = outcome;
  const head = `${message.consumer} #${message.sequence} ${message.subject}`;
  switch (outcome.outcome) {
    case 'applied':
      return `${head}: applied, no longer parked`;
    case 'already-applied':
      return `${head}: its event was applied already (another copy); nothing changed, no longer parked`;
    case 'still-failing':
      return `${head}: still fails, stays parked (attempt ${message.attempts + 1}): ${outcome.reason}`;
    case 'gone':
      return `${head}: replayed by another run meanwhile; nothing done`;
  }
};

export async function runReplayCli(argv: readonly string[], io: ReplayCliIo): Promise<ReplayExitCode> {
  const services = consumerServices();
  let request: ReplayRequest;
  let storage: StorageConfig;
  try {
    request = parseReplayRequest(argv, services);
    storage = parseStorageConfig(io.env, io.cwd);
  } catch (error) {
    if (error instanceof ReplayUsageError || error instanceof ConfigError) {
      io.err(`error: ${error.message}\n\n${usage(Object.keys(services))}`);
      return 2;
    }
    throw error;
  }
  let store: ConsumerStore;
  if (storage.database) {
    await migratePgAt(storage.database.url);
    store = createPgConsumerStore(
      {
        url: storage.database.url,
        poolSize: 1,
        statementTimeoutMs: storage.database.statementTimeoutMs,
        transactionTimeoutMs: storage.database.transactionTimeoutMs,
      },
      systemClock,
    );
  } else {
    const file = join(storage.dataDir, DATABASE_FILE);
    // Not created by a replay: a database that does not exist has nothing parked.
    if (!existsSync(file)) {
      io.err(`error: there is no database at ${file} (DATA_DIR): nothing is parked\n`);
      return 1;
    }
    store = createSqliteConsumerStore(file, systemClock);
  }
  try {
    const outcomes = await replayParked({
      service: request.service,
      registry: createReactionRegistry(serverReactions),
      store,
      selection: request.selection,
    });
    for (const outcome of outcomes) io.out(`${describe(outcome)}\n`);
    const count = (kind: ReplayOutcome['outcome']) => outcomes.filter((o) => o.outcome === kind).length;
    const stillParked = count('still-failing');
    io.out(
      outcomes.length === 0
        ? `${request.service.name}: nothing is parked\n`
        : `${request.service.name}: replayed ${outcomes.length}: ${count('applied')} applied, ` +
            `${count('already-applied')} applied already, ${stillParked} still parked\n`,
    );
    return stillParked > 0 ? 1 : 0;
  } catch (error) {
    if (error instanceof ReplayRefusedError) {
      io.err(`error: ${error.message}\n`);
      return 1;
    }
    throw error;
  } finally {
    await store.close();
  }
}
