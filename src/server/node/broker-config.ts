import * as v from 'valibot';
import {
  DEFAULT_INBOX_RETENTION_MS,
  DEFAULT_RETENTION_MS,
  MIN_INBOX_RETENTION_MS,
  PUBLISH_RATE_WINDOW_MS,
} from '../../outbox/server';
import { ConfigError } from './config';
import type { BrokerSettings } from './nats-broker';

/** The server outbox's settings (docs/server.md, "Server outbox"), read once at start. */
export interface OutboxConfig {
  /** NATS_URL: the broker; null when none is configured (the outbox fills until one is). */
  readonly broker: BrokerSettings | null;
  /** How long published rows stay in the outbox table (OUTBOX_RETENTION_MS). */
  readonly retentionMs: number;
  /** How often an idle relay looks for rows (RELAY_POLL_MS). */
  readonly relayPollMs: number;
  /** Rows per relay batch (RELAY_BATCH_SIZE). */
  readonly relayBatchSize: number;
  /** Deliveries of a message a service cannot apply before it parks it (SERVICE_MAX_ATTEMPTS). */
  readonly serviceMaxAttempts: number;
  /** How long the broker waits for a service's acknowledgement before redelivering (SERVICE_ACK_WAIT_MS). */
  readonly serviceAckWaitMs: number;
  /**
   * How long a service keeps an inbox row, counted from the oldest message the broker may still deliver to
   * it (SERVICE_INBOX_RETENTION_MS).
   */
  readonly serviceInboxRetentionMs: number;
  /** Fault injection, for the tests only (OUTPOST_FAULT_*): never set in production. */
  readonly faults: {
    /** The relay stops for ever after the broker acknowledged its first batch, before marking it. */
    readonly relayPauseAfterAck: boolean;
    /** A service kills itself (SIGKILL) at this point of the batch that holds its Nth message. */
    readonly serviceCrash: {
      readonly at: 'inside-transaction' | 'after-commit';
      readonly afterMessages: number;
    } | null;
  };
}

const integer = (name: string, min: number, max: number) =>
  v.optional(
    v.pipe(
      v.string(),
      v.regex(/^\d+$/, `${name} must be a whole number`),
      v.transform(Number),
      v.minValue(min, `${name} must be at least ${min}`),
      v.maxValue(max, `${name} must be at most ${max}`),
    ),
  );

const OutboxEnvSchema = v.object({
  NATS_URL: v.optional(
    v.pipe(v.string(), v.regex(/^(nats|tls):\/\/\S+$/, 'NATS_URL is nats://host:port (or tls://host:port)')),
  ),
  NATS_DUPLICATE_WINDOW_MS: integer('NATS_DUPLICATE_WINDOW_MS', 100, 86_400_000),
  NATS_PUBLISH_TIMEOUT_MS: integer('NATS_PUBLISH_TIMEOUT_MS', 100, 600_000),
  OUTBOX_RETENTION_MS: integer('OUTBOX_RETENTION_MS', PUBLISH_RATE_WINDOW_MS, 365 * 86_400_000),
  RELAY_POLL_MS: integer('RELAY_POLL_MS', 1, 60_000),
  RELAY_BATCH_SIZE: integer('RELAY_BATCH_SIZE', 1, 10_000),
  SERVICE_MAX_ATTEMPTS: integer('SERVICE_MAX_ATTEMPTS', 1, 1_000),
  SERVICE_ACK_WAIT_MS: integer('SERVICE_ACK_WAIT_MS', 1_000, 3_600_000),
  SERVICE_INBOX_RETENTION_MS: integer(
    'SERVICE_INBOX_RETENTION_MS',
    MIN_INBOX_RETENTION_MS,
    10 * 365 * 86_400_000,
  ),
  OUTPOST_FAULT_RELAY_PAUSE_AFTER_ACK: v.optional(v.picklist(['1'])),
  OUTPOST_FAULT_SERVICE_CRASH: v.optional(v.picklist(['inside-transaction', 'after-commit'])),
  OUTPOST_FAULT_SERVICE_CRASH_AFTER: integer('OUTPOST_FAULT_SERVICE_CRASH_AFTER', 1, 1_000_000),
});

export function parseOutboxConfig(env: Readonly<Record<string, string | undefined>>): OutboxConfig {
  const input: Record<string, string | undefined> = {};
  for (const name of Object.keys(OutboxEnvSchema.entries)) {
    const value = env[name]?.trim();
    input[name] = value === '' ? undefined : value;
  }
  const parsed = v.safeParse(OutboxEnvSchema, input);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.issues.map((issue) => `${v.getDotPath(issue) ?? 'environment'}: ${issue.message}`),
    );
  }
  const s = parsed.output;
  return {
    broker:
      s.NATS_URL === undefined
        ? null
        : {
            url: s.NATS_URL,
            duplicateWindowMs: s.NATS_DUPLICATE_WINDOW_MS ?? 120_000,
            publishTimeoutMs: s.NATS_PUBLISH_TIMEOUT_MS ?? 5_000,
          },
    retentionMs: s.OUTBOX_RETENTION_MS ?? DEFAULT_RETENTION_MS,
    relayPollMs: s.RELAY_POLL_MS ?? 20,
    relayBatchSize: s.RELAY_BATCH_SIZE ?? 500,
    serviceMaxAttempts: s.SERVICE_MAX_ATTEMPTS ?? 5,
    serviceAckWaitMs: s.SERVICE_ACK_WAIT_MS ?? 30_000,
    serviceInboxRetentionMs: s.SERVICE_INBOX_RETENTION_MS ?? DEFAULT_INBOX_RETENTION_MS,
    faults: {
      relayPauseAfterAck: s.OUTPOST_FAULT_RELAY_PAUSE_AFTER_ACK === '1',
      serviceCrash:
        s.OUTPOST_FAULT_SERVICE_CRASH === undefined
          ? null
          : { at: s.OUTPOST_FAULT_SERVICE_CRASH, afterMessages: s.OUTPOST_FAULT_SERVICE_CRASH_AFTER ?? 1 },
    },
  };
}
