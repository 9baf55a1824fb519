import type { Clock } from '../../ids';
import { type Backoff, backoffDelay } from '../relay/backoff';
import { errorText, type OutboxLog, silentOutboxLog } from '../relay/log';
import type { ConsumerStore } from './consumer-store';
import { type ConsumedEvent, decodeDelivery } from './decode';
import type { Delivery, DeliverySource } from './delivery';
import type { ReactionRegistry } from './reaction-registry';
import type { ConsumerService } from './services';

/** What `startConsumer` runs: one service, fed by one source, writing to one store. */
export interface ConsumerRuntimeOptions<Effect> {
  readonly service: ConsumerService<Effect>;
  /** The stream types whose events the service reads; a message of another type is retried, then parked. */
  readonly registry: ReactionRegistry;
  /** The runtime owns it from now on: `stop()` stops it. */
  readonly source: DeliverySource;
  readonly store: ConsumerStore;
  /** Stamps `parkedAt`. */
  readonly clock: Clock;
  /** The retry back-off's jitter, in [0, 1); `Math.random` by default. */
  readonly random?: () => number;
  readonly log?: OutboxLog;
  /** Deliveries of a message that cannot be applied before it is parked; default 5. */
  readonly maxAttempts?: number;
  /** Delay before a failed message is delivered again; default 100 ms doubling to 5 s, with jitter. */
  readonly retryBackoff?: Backoff;
  /** Messages applied in one transaction at most; default 256. */
  readonly batchSize?: number;
  /** Fault injection for tests only: inside the transaction after the effects, and after its commit. */
  readonly faults?: {
    /** Throwing here rolls the batch back as a database failure would: every message is retried. */
    readonly insideTransaction?: (batch: readonly Delivery[]) => Promise<void> | void;
    /** Runs before the batch is acknowledged: a crash here leaves committed effects unacknowledged. */
    readonly afterCommit?: (batch: readonly Delivery[]) => Promise<void> | void;
  };
}

/** A running consumer service; the counters are this process's, since it started. */
export interface ConsumerRuntime {
  /** Events this runtime applied (their effect committed), duplicates left out. */
  applied(): number;
  /** Messages this runtime parked and terminated at the broker (each kept by `ConsumerStore.park`). */
  parked(): number;
  /** Stops taking messages, finishes the batch in hand, and closes the source. */
  stop(): Promise<void>;
}

interface Readable {
  readonly delivery: Delivery;
  readonly event: ConsumedEvent;
}

class ReactionFailed extends Error {
  constructor(
    readonly item: Readable,
    cause: unknown,
  ) {
    super(`The ${item.event.streamType} reaction to ${item.event.event.type} failed: ${errorText(cause)}`, {
      cause,
    });
    this.name = 'ReactionFailed';
  }
}

/**
 * Runs one consumer service: takes the messages that have arrived (up to a batch), checks each, and applies
 * the new ones in ONE transaction that records their eventIds in the service's inbox, folds their streams
 * with their type's `evolve`, and writes their effects; only after the commit does it acknowledge them (and
 * wait for the broker to confirm). A redelivered message finds its eventId in the inbox and changes nothing.
 * A message that cannot be read or applied is retried after a delay, and parked with its reason (and
 * terminated at the broker) after `maxAttempts` deliveries; the others go on meanwhile.
 */
export function startConsumer<Effect>(options: ConsumerRuntimeOptions<Effect>): ConsumerRuntime {
  const { service, registry, source, store, clock } = options;
  const random = options.random ?? Math.random;
  const log = options.log ?? silentOutboxLog;
  const maxAttempts = options.maxAttempts ?? 5;
  const retryBackoff = options.retryBackoff ?? { baseMs: 100, capMs: 5_000 };
  const batchSize = options.batchSize ?? 256;

  const queue: Delivery[] = [];
  let arrived: () => void = () => undefined;
  let ended = false;
  let appliedCount = 0;
  let parkedCount = 0;
  let storeFailing = false;

  const reading = (async () => {
    try {
      for await (const delivery of source.messages) {
        queue.push(delivery);
        arrived();
      }
    } catch (error) {
      log({ level: 'error', msg: `${service.name}: the message source failed`, error: errorText(error) });
    } finally {
      ended = true;
      arrived();
    }
  })();

  const retryDelay = (delivery: Delivery) => backoffDelay(retryBackoff, delivery.deliveryCount, random);

  async function fail(delivery: Delivery, reason: string): Promise<void> {
    if (delivery.deliveryCount < maxAttempts) {
      delivery.retry(retryDelay(delivery));
      return;
    }
    try {
      await store.park({
        consumer: service.name,
        sequence: delivery.sequence,
        subject: delivery.subject,
        messageId: delivery.messageId ?? null,
        body: delivery.body,
        reason,
        attempts: delivery.deliveryCount,
        parkedAt: clock.now(),
      });
    } catch (error) {
      delivery.retry(retryDelay(delivery));
      log({ level: 'error', msg: `${service.name}: could not park a message`, error: errorText(error) });
      return;
    }
    delivery.terminate(reason);
    parkedCount += 1;
    log({
      level: 'warn',
      msg: `${service.name}: parked a message it cannot apply`,
      subject: delivery.subject,
      sequence: delivery.sequence,
      reason,
    });
  }

  async function apply(items: readonly Readable[], batch: readonly Delivery[]): Promise<void> {
    if (items.length === 0) return;
    let appliedNow = 0;
    try {
      await store.transaction(async (tx) => {
        const fresh = await tx.admit(
          service.name,
          items.map((item) => item.event.eventId),
        );
        const once = new Set<string>();
        const toApply = items.filter(({ event }) => {
          if (!fresh.has(event.eventId) || once.has(event.eventId)) return false;
          once.add(event.eventId);
          return true;
        });
        const states = new Map(
          await tx.states(service.name, [...new Set(toApply.map((item) => item.event.streamId))]),
        );
        const changed = new Map<string, unknown>();
        const effects: Effect[] = [];
        for (const item of toApply) {
          const { event, streamId, streamType, eventId } = item.event;
          const entry = registry.byName(streamType);
          const parsed = registry.streamTypes.parse(streamId);
          if (!entry || !parsed) throw new ReactionFailed(item, new Error('unknown stream type'));
          const before = states.has(streamId) ? states.get(streamId) : entry.type.initialState;
          try {
            const after = entry.type.evolve(before, event);
            effects.push(
              ...service.react(
                entry.reactions,
                { streamId, id: parsed.id, before, after, event },
                { eventId, streamId, owner: item.delivery.owner },
              ),
            );
            states.set(streamId, after);
            changed.set(streamId, after);
          } catch (error) {
            throw new ReactionFailed(item, error);
          }
        }
        await service.apply(tx, effects);
        await tx.saveStates(service.name, changed);
        await options.faults?.insideTransaction?.(batch);
        appliedNow = toApply.length;
      });
    } catch (error) {
      if (error instanceof ReactionFailed) {
        await fail(error.item.delivery, error.message);
        await apply(
          items.filter((item) => item !== error.item),
          batch,
        );
        return;
      }
      // The database, not the messages: every one is delivered again later, none counts towards parking.
      if (!storeFailing) {
        storeFailing = true;
        log({
          level: 'warn',
          msg: `${service.name}: the database failed; retrying`,
          error: errorText(error),
        });
      }
      for (const { delivery } of items) delivery.retry(retryDelay(delivery));
      return;
    }
    if (storeFailing) {
      storeFailing = false;
      log({ level: 'info', msg: `${service.name}: the database answers again` });
    }
    appliedCount += appliedNow;
    await options.faults?.afterCommit?.(batch);
    // One round trip per batch: every message acknowledged, the last one confirmed (the broker handles one
    // connection's acks in order). A lost acknowledgement only means a redelivery, which the inbox turns into
    // nothing; the confirmation keeps the next batch from starting before the broker has this one's acks.
    const last = items.at(-1)?.delivery;
    for (const { delivery } of items) if (delivery !== last) delivery.ack();
    await last?.ackConfirmed().catch(() => undefined);
  }

  async function handle(batch: readonly Delivery[]): Promise<void> {
    const readable: Readable[] = [];
    for (const delivery of batch) {
      const decoded = decodeDelivery(delivery, registry);
      if (decoded.ok) readable.push({ delivery, event: decoded.value });
      else await fail(delivery, decoded.reason);
    }
    await apply(readable, batch);
  }

  const processing = (async () => {
    for (;;) {
      if (queue.length === 0) {
        if (ended) return;
        await new Promise<void>((resolve) => {
          arrived = resolve;
        });
        continue;
      }
      await handle(queue.splice(0, batchSize));
    }
  })();

  return {
    applied: () => appliedCount,
    parked: () => parkedCount,
    async stop() {
      await source.stop();
      await reading;
      await processing;
    },
  };
}
