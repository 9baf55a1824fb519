import {
  AckPolicy,
  type ConsumerInfo,
  DeliverPolicy,
  type JetStreamManager,
  type JsMsg,
  jetstream,
  jetstreamManager,
  RetentionPolicy,
  StorageType,
} from '@nats-io/jetstream';
import { connect, headers, type NatsConnection, nanos } from '@nats-io/transport-node';
import {
  type Delivery,
  type DeliverySource,
  errorText,
  type OutboxLog,
  type Publisher,
  SUBJECT_PREFIX,
} from '../../outbox/server';

/**
 * NATS JetStream as the server outbox's broker (docs/server-outbox.md): one stream, `OUTPOST`, capturing
 * `outpost.>`; the relay publishes each row with its eventId as `Nats-Msg-Id`; each consumer service reads
 * through a durable pull consumer with explicit acknowledgements.
 */

export const OUTBOX_STREAM = 'OUTPOST';
/** The header that carries a stream's owner (AUTH=users) to the consumers. */
export const OWNER_HEADER = 'Outpost-Owner';
/** The header that carries a row's number in its stream (`OutboxRow.streamSeq`), absent on older rows. */
export const STREAM_SEQ_HEADER = 'Outpost-Stream-Seq';
const MSG_ID_HEADER = 'Nats-Msg-Id';

export interface BrokerSettings {
  /** NATS_URL, e.g. nats://127.0.0.1:4222. */
  readonly url: string;
  /** The stream's duplicate window (JetStream's default is 2 minutes). */
  readonly duplicateWindowMs: number;
  /** How long a publish waits for the broker's acknowledgement. */
  readonly publishTimeoutMs: number;
}

/**
 * Connects, waiting for the broker if it is not up yet, and reconnecting for ever (with jitter) when it goes
 * away: a relay or service outlives any outage of the broker. Each loss and return is logged once.
 */
export async function connectBroker(
  settings: BrokerSettings,
  name: string,
  log: OutboxLog,
): Promise<NatsConnection> {
  const connection = await connect({
    servers: settings.url,
    name,
    waitOnFirstConnect: true,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 1_000,
    reconnectJitter: 500,
    timeout: 5_000,
  });
  void (async () => {
    for await (const status of connection.status()) {
      if (status.type === 'disconnect') log({ level: 'warn', msg: `${name}: lost the broker; reconnecting` });
      else if (status.type === 'reconnect') log({ level: 'info', msg: `${name}: the broker is back` });
    }
  })();
  return connection;
}

/**
 * Creates the stream when missing. The relay (`update`) also brings its duplicate window to the setting;
 * a consumer service only creates it, so that it can start before the relay.
 */
export async function ensureStream(
  manager: JetStreamManager,
  duplicateWindowMs: number,
  mode: 'create' | 'update',
): Promise<void> {
  const config = {
    name: OUTBOX_STREAM,
    subjects: [`${SUBJECT_PREFIX}.>`],
    storage: StorageType.File,
    retention: RetentionPolicy.Limits,
    duplicate_window: nanos(duplicateWindowMs),
  };
  try {
    const info = await manager.streams.info(OUTBOX_STREAM);
    if (mode === 'update' && info.config.duplicate_window !== config.duplicate_window) {
      await manager.streams.update(OUTBOX_STREAM, { duplicate_window: config.duplicate_window });
    }
  } catch (error) {
    if (!/stream not found/i.test(errorText(error))) throw error;
    await manager.streams.add(config);
  }
}

/** The relay's publisher on JetStream: in call order on one connection, each waiting for its `PubAck`. */
export function createJetStreamPublisher(connection: NatsConnection, settings: BrokerSettings): Publisher {
  const client = jetstream(connection, { timeout: settings.publishTimeoutMs });
  return {
    async publish(row) {
      const header = headers();
      if (row.owner !== null) header.set(OWNER_HEADER, row.owner);
      if (row.streamSeq !== null) header.set(STREAM_SEQ_HEADER, String(row.streamSeq));
      const ack = await client.publish(row.subject, row.body, {
        msgID: row.eventId,
        headers: header,
        expect: { streamName: OUTBOX_STREAM },
        timeout: settings.publishTimeoutMs,
      });
      return { duplicate: ack.duplicate };
    },
    async prepare() {
      await ensureStream(await jetstreamManager(connection), settings.duplicateWindowMs, 'update');
    },
  };
}

/**
 * The durable pull consumer of a service: the whole outbox stream, explicit acks, no delivery limit. The ack
 * wait is how long the broker waits for an acknowledgement before it delivers a message again (a service
 * killed mid-batch holds its messages that long); an existing consumer is brought to the setting.
 */
export async function ensureConsumer(
  manager: JetStreamManager,
  name: string,
  ackWaitMs: number,
): Promise<void> {
  const existing = await manager.consumers.info(OUTBOX_STREAM, name).catch(() => null);
  if (existing) {
    if (existing.config.ack_wait !== nanos(ackWaitMs)) {
      await manager.consumers.update(OUTBOX_STREAM, name, { ack_wait: nanos(ackWaitMs) });
    }
    return;
  }
  await manager.consumers.add(OUTBOX_STREAM, {
    durable_name: name,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    ack_wait: nanos(ackWaitMs),
    // Unlimited: the service parks a message after its own attempts; the broker must never drop one silently.
    max_deliver: -1,
    max_ack_pending: 2_000,
    filter_subject: `${SUBJECT_PREFIX}.>`,
  });
}

const decoder = new TextDecoder();

/** A positive integer header, or null (absent, or not a number: the message is applied without its order). */
function streamSeqOf(header: string | undefined): number | null {
  if (!header || !/^[1-9][0-9]{0,14}$/.test(header)) return null;
  return Number(header);
}

function toDelivery(message: JsMsg): Delivery {
  return {
    subject: message.subject,
    body: decoder.decode(message.data),
    messageId: message.headers?.get(MSG_ID_HEADER) || undefined,
    owner: message.headers?.get(OWNER_HEADER) || null,
    streamSeq: streamSeqOf(message.headers?.get(STREAM_SEQ_HEADER)),
    deliveryCount: message.info.deliveryCount,
    sequence: message.seq,
    storedAt: message.time.getTime(),
    ack: () => message.ack(),
    async ackConfirmed() {
      if (!(await message.ackAck())) throw new Error('The broker did not confirm the acknowledgement');
    },
    retry: (delayMs) => message.nak(delayMs),
    // Without the reason: servers before 2.11 do not read `+TERM <reason>` as a termination at all (they
    // ignore it, and the message waits out its ack wait for ever). The reason is in the parked table.
    terminate: () => message.term(),
  };
}

/** A service's messages from its durable consumer, pulled in batches as they are acknowledged. */
export async function openDeliverySource(
  connection: NatsConnection,
  consumerName: string,
): Promise<DeliverySource> {
  const client = jetstream(connection);
  const manager = await jetstreamManager(connection);
  const consumer = await client.consumers.get(OUTBOX_STREAM, consumerName);
  // Pull requests that expire after 5 s (heartbeats every 2.5 s): after the broker restarts, a lost pull
  // request is noticed and renewed within seconds, not the default 30.
  const messages = await consumer.consume({ max_messages: 512, expires: 5_000 });
  return {
    messages: (async function* () {
      for await (const message of messages) yield toDelivery(message);
    })(),
    async stop() {
      await messages.close();
    },
    async oldestUnacknowledgedAt() {
      const info = await manager.consumers.info(OUTBOX_STREAM, consumerName);
      return oldestUnackedAt(manager, info);
    },
  };
}

/**
 * When the broker stored the oldest message the consumer has not acknowledged (ms), null when it has
 * acknowledged every one: everything at or below the ack floor is acknowledged (or terminated), so it is the
 * message after the floor. Rejects when the broker cannot read that message.
 */
async function oldestUnackedAt(manager: JetStreamManager, info: ConsumerInfo): Promise<number | null> {
  if (info.num_pending + info.num_ack_pending === 0) return null;
  const oldest = await manager.streams.getMessage(OUTBOX_STREAM, { seq: info.ack_floor.stream_seq + 1 });
  if (!oldest)
    throw new Error(`The broker has no message ${info.ack_floor.stream_seq + 1} in ${OUTBOX_STREAM}`);
  return oldest.time.getTime();
}

/** A consumer's lag, as `GET /api/sync/stats` shows it. */
export interface ConsumerLag {
  /** Messages in the stream the consumer has not been handed yet. */
  readonly pending: number;
  /** Messages handed out and not acknowledged yet. */
  readonly ackPending: number;
  /** How long the oldest message not yet acknowledged has been in the stream, in ms; 0 when none. */
  readonly oldestUnackedMs: number;
}

export async function consumerLag(
  manager: JetStreamManager,
  name: string,
  now: number,
): Promise<ConsumerLag> {
  const info = await manager.consumers.info(OUTBOX_STREAM, name);
  const oldest = await oldestUnackedAt(manager, info).catch(() => null);
  return {
    pending: info.num_pending,
    ackPending: info.num_ack_pending,
    oldestUnackedMs: oldest === null ? 0 : Math.max(0, now - oldest),
  };
}

export { jetstreamManager };
