import type { Clock } from '../../ids';
import { type Backoff, backoffDelay } from '../relay/backoff';
import { errorText, type OutboxLog, silentOutboxLog } from '../relay/log';
import { type Applicable, applyEvents, ReactionFailed } from './apply-events';
import type { ConsumerStore } from './consumer-store';
import { decodeDelivery } from './decode';
import type { Delivery, DeliverySource } from './delivery';
import { earlyMessages } from './early-messages';
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
  /** Stamps failed attempts and `parkedAt`; with the broker's oldest unacknowledged message, times pruning. */
  readonly clock: Clock;
  /** The retry back-off's jitter, in [0, 1); `Math.random` by default. */
  readonly random?: () => number;
  readonly log?: OutboxLog;
  /**
   * Failed attempts at a message (its decoding or its reaction failed) before it is parked; default 5.
   * Deliveries that failed for the database's sake, or were cut short by a crash, are not attempts.
   */
  readonly maxAttempts?: number;
  /** Delay before a failed message is delivered again; default 100 ms doubling to 5 s, with jitter. */
  readonly retryBackoff?: Backoff;
  /**
   * How long a message waits for its stream's predecessor (redelivered with a delay meanwhile, no attempt
   * counted) before the service gives up on the missing ones and applies it: they may never come (the service
   * started after they were gone from the broker, or one was parked). Longer than the broker's ack wait, so
   * that messages a killed service held come back first. Default 60 s.
   */
  readonly orderWaitMs?: number;
  /** Messages applied in one transaction at most; default 256. */
  readonly batchSize?: number;
  /**
   * How long an inbox row outlives the messages the broker may still deliver: rows applied this long before
   * the oldest unacknowledged message (or before now, when none is) are pruned. Default 7 days, at least 1
   * day (docs/server-outbox.md, "Retention").
   */
  readonly inboxRetentionMs?: number;
  /** How often the inbox is pruned; default every minute, and once at start. */
  readonly pruneEveryMs?: number;
  /** Inbox rows deleted per statement when pruning; default 5,000. */
  readonly pruneSliceSize?: number;
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
  /** Messages this runtime parked and terminated at the broker (each kept by `ConsumerStore.recordFailure`). */
  parked(): number;
  /** Inbox rows this runtime pruned. */
  pruned(): number;
  /** Stops taking messages, finishes the batch in hand, and closes the source. */
  stop(): Promise<void>;
}

interface Readable extends Applicable {
  readonly delivery: Delivery;
  readonly streamSeq: number | null;
}

/** Seven days: far longer than a relay may be left down with published rows it has not marked. */
export const DEFAULT_INBOX_RETENTION_MS = 7 * 86_400_000;
/** One day: the least retention `startConsumer` accepts (a relay down that long was alerted on for a day). */
export const MIN_INBOX_RETENTION_MS = 86_400_000;

/**
 * Runs one consumer service: takes the messages that have arrived (up to a batch), checks each, and applies
 * the new ones in ONE transaction that records their eventIds in the service's inbox, folds their streams
 * with their type's `evolve`, and writes their effects; only after the commit does it acknowledge them (and
 * wait for the broker to confirm). A redelivered message finds its eventId in the inbox and changes nothing.
 * A stream's numbered events are applied in their order: one that comes before its predecessor is delivered
 * again later, with no attempt counted, until the predecessor was applied or `orderWaitMs` has passed.
 * A message that cannot be read or applied is retried after a delay, and parked with its reason (and
 * terminated at the broker) at its `maxAttempts`th failed attempt, counted in the store; the others go on
 * meanwhile. Off the batches' path, it prunes inbox rows the broker can no longer bring a copy for.
 */
export function startConsumer<Effect>(options: ConsumerRuntimeOptions<Effect>): ConsumerRuntime {
  const { service, registry, source, store, clock } = options;
  const random = options.random ?? Math.random;
  const log = options.log ?? silentOutboxLog;
  const maxAttempts = options.maxAttempts ?? 5;
  const retryBackoff = options.retryBackoff ?? { baseMs: 100, capMs: 5_000 };
  const batchSize = options.batchSize ?? 256;
  const orderWaitMs = options.orderWaitMs ?? 60_000;
  const inboxRetentionMs = Math.max(
    options.inboxRetentionMs ?? DEFAULT_INBOX_RETENTION_MS,
    MIN_INBOX_RETENTION_MS,
  );
  const pruneEveryMs = options.pruneEveryMs ?? 60_000;
  const pruneSliceSize = options.pruneSliceSize ?? 5_000;

  const queue: Delivery[] = [];
  let arrived: () => void = () => undefined;
  let ended = false;
  let appliedCount = 0;
  let parkedCount = 0;
  let prunedCount = 0;
  let storeFailing = false;
  let stopping = false;
  let wakePruning: () => void = () => undefined;
  const early = earlyMessages(orderWaitMs);
  // An early message comes back well within the order wait, so that a stream's lowest waiting number is
  // known to be waiting (and goes first) while the wait lasts.
  const earlyBackoff = {
    baseMs: retryBackoff.baseMs,
    capMs: Math.max(retryBackoff.baseMs, Math.min(retryBackoff.capMs, orderWaitMs / 4)),
  };

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

  // While the database fails, every message is delivered again, later and later: the broker's count of its
  // deliveries says how long this has lasted, not how often the message itself failed.
  const storeRetryDelay = (delivery: Delivery) => backoffDelay(retryBackoff, delivery.deliveryCount, random);

  function databaseFailed(error: unknown): void {
    if (storeFailing) return;
    storeFailing = true;
    log({ level: 'warn', msg: `${service.name}: the database failed; retrying`, error: errorText(error) });
  }

  function databaseAnswered(): void {
    if (!storeFailing) return;
    storeFailing = false;
    log({ level: 'info', msg: `${service.name}: the database answers again` });
  }

  /** The message itself failed (it cannot be decoded, or its reaction threw): one attempt of its own. */
  async function fail(delivery: Delivery, reason: string): Promise<void> {
    let recorded: { attempts: number; parked: boolean };
    try {
      recorded = await store.recordFailure(
        {
          consumer: service.name,
          sequence: delivery.sequence,
          storedAt: delivery.storedAt,
          subject: delivery.subject,
          messageId: delivery.messageId ?? null,
          owner: delivery.owner,
          body: delivery.body,
          reason,
          at: clock.now(),
        },
        maxAttempts,
      );
    } catch (error) {
      // Not counted: the attempt is made again once the database answers.
      databaseFailed(error);
      delivery.retry(storeRetryDelay(delivery));
      return;
    }
    databaseAnswered();
    if (!recorded.parked) {
      delivery.retry(backoffDelay(retryBackoff, recorded.attempts, random));
      return;
    }
    delivery.terminate(reason);
    early.done(delivery.sequence);
    parkedCount += 1;
    log({
      level: 'warn',
      msg: `${service.name}: parked a message it cannot apply`,
      subject: delivery.subject,
      sequence: delivery.sequence,
      attempts: recorded.attempts,
      reason,
    });
  }

  const waitedEnough = (item: Readable): boolean =>
    item.streamSeq !== null && early.mayGoOn(item.event.streamId, item.streamSeq, clock.now());

  async function apply(items: readonly Readable[], batch: readonly Delivery[]): Promise<void> {
    if (items.length === 0) return;
    let appliedNow = 0;
    let cameEarly: ReadonlySet<Readable> = new Set();
    try {
      await store.transaction(async (tx) => {
        const result = await applyEvents(tx, service, registry, items, waitedEnough);
        appliedNow = result.applied;
        cameEarly = new Set(result.early);
        // Only a message delivered before can have failed attempts counted: its first delivery costs nothing.
        const redelivered = items.filter((item) => item.delivery.deliveryCount > 1 && !cameEarly.has(item));
        if (redelivered.length > 0) {
          await tx.forgetFailures(
            service.name,
            redelivered.map((item) => item.delivery.sequence),
          );
        }
        await options.faults?.insideTransaction?.(batch);
      });
    } catch (error) {
      if (error instanceof ReactionFailed) {
        const failed = error.item as Readable;
        await fail(failed.delivery, error.message);
        await apply(
          items.filter((item) => item !== failed),
          batch,
        );
        return;
      }
      // The database, not the messages: every one is delivered again later, none counts towards parking.
      databaseFailed(error);
      for (const { delivery } of items) delivery.retry(storeRetryDelay(delivery));
      return;
    }
    databaseAnswered();
    appliedCount += appliedNow;
    await options.faults?.afterCommit?.(batch);
    // Before its predecessor: not its fault, so no attempt; it comes again after a delay, by then (usually)
    // after its predecessor, whose own redelivery is due.
    const now = clock.now();
    for (const item of cameEarly) {
      early.cameEarly(item.delivery.sequence, item.event.streamId, item.streamSeq ?? 0, now);
      item.delivery.retry(backoffDelay(earlyBackoff, item.delivery.deliveryCount, random));
    }
    const done = items.filter((item) => !cameEarly.has(item));
    for (const { delivery } of done) early.done(delivery.sequence);
    // One round trip per batch: every message acknowledged, the last one confirmed (the broker handles one
    // connection's acks in order). A lost acknowledgement only means a redelivery, which the inbox turns into
    // nothing; the confirmation keeps the next batch from starting before the broker has this one's acks.
    const last = done.at(-1)?.delivery;
    for (const { delivery } of done) if (delivery !== last) delivery.ack();
    await last?.ackConfirmed().catch(() => undefined);
  }

  async function handle(batch: readonly Delivery[]): Promise<void> {
    const readable: Readable[] = [];
    for (const delivery of batch) {
      const decoded = decodeDelivery(delivery, registry);
      if (decoded.ok) {
        readable.push({
          delivery,
          event: decoded.value,
          owner: delivery.owner,
          streamSeq: delivery.streamSeq,
        });
      } else await fail(delivery, decoded.reason);
    }
    await apply(readable, batch);
  }

  /**
   * A copy of an event can only come from a message stored at or after the oldest one this consumer has not
   * acknowledged (a redelivery) or from a later publish (the relay republishes a row whose mark it lost). So
   * an inbox row is kept for the retention counted from that message, not from now: however long the service
   * was down, what the broker still holds for it finds its rows. The retention covers the relay's side.
   */
  async function prune(): Promise<void> {
    let oldest: number | null;
    try {
      oldest = await source.oldestUnacknowledgedAt();
    } catch {
      // The broker cannot say what it may still deliver: prune nothing rather than guess.
      return;
    }
    const before = Math.min(clock.now(), oldest ?? Number.POSITIVE_INFINITY) - inboxRetentionMs;
    let pruned = 0;
    try {
      for (;;) {
        const slice = await store.prune(service.name, before, pruneSliceSize);
        pruned += slice;
        if (slice < pruneSliceSize || stopping) break;
      }
    } catch {
      // The batches report the database's failures; the next round prunes what this one left.
    }
    prunedCount += pruned;
    if (pruned > 0) log({ level: 'info', msg: `${service.name}: pruned inbox rows`, rows: pruned, before });
  }

  const pruning = (async () => {
    while (!stopping) {
      await prune();
      if (stopping) return;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, pruneEveryMs);
        wakePruning = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  })();

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
    pruned: () => prunedCount,
    async stop() {
      stopping = true;
      wakePruning();
      await source.stop();
      await reading;
      await processing;
      await pruning;
    },
  };
}
