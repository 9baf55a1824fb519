import type { Clock } from '../../ids';
import { type Backoff, backoffDelay } from './backoff';
import { errorText, type OutboxLog, silentOutboxLog } from './log';
import type { OutboxRow } from './outbox-rows';
import type { Publisher } from './publisher';
import { PUBLISH_RATE_WINDOW_MS, type RelayStore } from './relay-store';

/**
 * The relay's states (docs/server-outbox.md):
 *
 *   starting ──► standby ◄──────────────► idle ◄──► publishing
 *                (another relay leads)      ▲            │ a publish failed
 *                                           │            ▼
 *                                           └──── broker-unreachable (backs off with jitter, then resumes
 *                                                 from the first unacknowledged row)
 *   database-unreachable: the store failed; backs off the same way. stopped: `stop()` was called.
 */
export type RelayState =
  | 'starting'
  | 'standby'
  | 'idle'
  | 'publishing'
  | 'broker-unreachable'
  | 'database-unreachable'
  | 'stopped';

/** What `startRelay` publishes from and to; of several relays on one store, one leads, the rest wait. */
export interface RelayOptions {
  readonly store: RelayStore;
  readonly publisher: Publisher;
  /** Stamps `markPublished` and times the pruning. */
  readonly clock: Clock;
  /** In [0, 1): the jitter of the back-off. */
  readonly random?: () => number;
  readonly log?: OutboxLog;
  /** Rows read, published (pipelined) and marked per batch; default 500. */
  readonly batchSize?: number;
  /** How often an idle leader looks for new rows; default 20 ms. */
  readonly pollMs?: number;
  /** How often a standby asks to lead; default 1 s. */
  readonly standbyPollMs?: number;
  /** Published rows are deleted this long after publishing; default 1 hour, at least the rate window. */
  readonly retentionMs?: number;
  /** How often the leader prunes; default every minute. */
  readonly pruneEveryMs?: number;
  readonly backoff?: Backoff;
  /**
   * Fault injection for tests only: runs after the broker acknowledged `rows` and before they are marked
   * published (the relay's one window in which a crash republishes).
   */
  readonly afterAck?: (rows: readonly OutboxRow[]) => Promise<void>;
}

/** A running relay: its state and count for stats and tests, and the way to stop it. */
export interface Relay {
  /** What the relay is doing now; a relay never stops by itself, whatever fails (only `stop()` ends it). */
  state(): RelayState;
  /** Rows this relay has had acknowledged since it started (duplicates included). */
  published(): number;
  /** Finishes the batch in flight (its acknowledged rows are marked), then stops. */
  stop(): Promise<void>;
}

/** One hour: published rows an operator may look at after an incident; unpublished rows always stay. */
export const DEFAULT_RETENTION_MS = 3_600_000;

/**
 * Starts the relay: while it leads, it reads the oldest unpublished rows, publishes them all at once (the
 * publisher sends them in order on one connection, so the broker stores them in order), waits for the
 * broker's acknowledgements, and marks published the rows up to the first that was not acknowledged. A
 * failed publish ends the batch there: the next batch starts again from that row, so a stream's events are
 * never stored out of order, and a row is republished only when its acknowledgement may have been lost (the
 * broker drops the copy by its msg id inside its duplicate window; consumers' inboxes drop it after). While
 * one batch's acknowledgements come back, the next is read and sent.
 */
export function startRelay(options: RelayOptions): Relay {
  const { store, publisher, clock } = options;
  const random = options.random ?? Math.random;
  const log = options.log ?? silentOutboxLog;
  const batchSize = options.batchSize ?? 500;
  const pollMs = options.pollMs ?? 20;
  const standbyPollMs = options.standbyPollMs ?? 1_000;
  const retentionMs = Math.max(options.retentionMs ?? DEFAULT_RETENTION_MS, PUBLISH_RATE_WINDOW_MS);
  const pruneEveryMs = options.pruneEveryMs ?? 60_000;
  const backoff = options.backoff ?? { baseMs: 200, capMs: 15_000 };

  let state: RelayState = 'starting';
  let stopping = false;
  let wake: () => void = () => undefined;
  let publishedCount = 0;
  let failures = 0;
  let prepared = false;
  let lastPrune = Number.NEGATIVE_INFINITY;

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });

  const enter = (next: RelayState, fields: Record<string, string | number> = {}): void => {
    if (next === state) return;
    const previous = state;
    state = next;
    // One line per change of state, never one per retry: a relay that stops publishing says so once.
    if (next === 'broker-unreachable' || next === 'database-unreachable') {
      log({ level: 'warn', msg: `relay: ${next.replace('-', ' ')}; retrying with back-off`, ...fields });
    } else if (next === 'standby') {
      log({ level: 'info', msg: 'relay: standby, another relay publishes' });
    } else if (previous === 'standby' || previous === 'starting' || previous.endsWith('unreachable')) {
      log({ level: 'info', msg: 'relay: publishing', after: previous });
    }
  };

  const backOff = async (next: 'broker-unreachable' | 'database-unreachable', error: unknown) => {
    failures += 1;
    enter(next, { error: errorText(error) });
    await sleep(backoffDelay(backoff, failures, random));
  };

  /** A batch whose publishes are sent and whose acknowledgements are awaited (allSettled never rejects). */
  interface Sent {
    readonly rows: readonly OutboxRow[];
    readonly outcomes: Promise<PromiseSettledResult<unknown>[]>;
  }

  // Every publish of a batch is sent before the first acknowledgement is awaited: the broker's round trip is
  // paid once per batch, not once per row.
  const send = (rows: readonly OutboxRow[]): Sent => ({
    rows,
    outcomes: Promise.allSettled(rows.map((row) => publisher.publish(row))),
  });

  /** Waits for a sent batch's acknowledgements and marks the acknowledged prefix; throws at the first failure. */
  async function settle(sent: Sent): Promise<void> {
    const outcomes = await sent.outcomes;
    let acked = 0;
    while (acked < outcomes.length && outcomes[acked]?.status === 'fulfilled') acked += 1;
    const done = sent.rows.slice(0, acked);
    if (done.length > 0) {
      await options.afterAck?.(done);
      await store.markPublished(
        done.map((row) => row.position),
        clock.now(),
      );
      publishedCount += done.length;
    }
    const failed = outcomes[acked];
    if (failed?.status === 'rejected') throw new PublishFailed(failed.reason);
  }

  async function prune(): Promise<void> {
    const now = clock.now();
    if (now - lastPrune < pruneEveryMs) return;
    lastPrune = now;
    const pruned = await store.prune(now - retentionMs);
    if (pruned > 0) log({ level: 'info', msg: 'relay: pruned published outbox rows', rows: pruned });
  }

  /**
   * Two batches at most are in flight: the next batch is read (leaving out the rows in flight) and sent while
   * the previous one's acknowledgements come back, so the database's work overlaps the broker's. The next
   * batch is sent after the previous one on the same connection, so the broker still stores rows in position
   * order; a stream's later row can only be in the later batch.
   */
  async function loop(): Promise<void> {
    let previous: Sent | null = null;
    while (!stopping) {
      try {
        if (!(await store.lead())) {
          if (previous) await settle(previous);
          previous = null;
          enter('standby');
          failures = 0;
          await sleep(standbyPollMs);
          continue;
        }
        if (!prepared) {
          await publisher.prepare().catch((error: unknown) => {
            throw new PublishFailed(error);
          });
          prepared = true;
        }
        if (previous === null) await prune();
        const rows = await store.unpublished(batchSize, previous?.rows.map((row) => row.position) ?? []);
        const sent = rows.length > 0 ? send(rows) : null;
        if (sent) enter('publishing');
        const settling = previous;
        previous = sent;
        if (settling) await settle(settling);
        if (sent === null && settling === null) {
          enter('idle');
          failures = 0;
          await sleep(pollMs);
          continue;
        }
        failures = 0;
      } catch (error) {
        // What was sent after the failure is read again and republished: the broker (msg id) or the
        // consumers' inboxes drop the copies.
        if (previous) await previous.outcomes;
        previous = null;
        if (stopping) break;
        if (error instanceof PublishFailed) {
          prepared = false;
          await backOff('broker-unreachable', error.cause);
        } else {
          await backOff('database-unreachable', error);
        }
      }
    }
    if (previous) await settle(previous).catch(() => undefined);
  }

  const running = loop().finally(() => {
    state = 'stopped';
  });

  return {
    state: () => state,
    published: () => publishedCount,
    async stop() {
      stopping = true;
      wake();
      await running;
      await store.close();
    },
  };
}

class PublishFailed extends Error {
  constructor(cause: unknown) {
    super(`The broker did not acknowledge a publish: ${errorText(cause)}`, { cause });
    this.name = 'PublishFailed';
  }
}
