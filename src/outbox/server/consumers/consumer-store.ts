import type { Notification } from '../../stream-reactions';
import type { CounterIncrement } from '../../stream-type';

/** A notification as the transport receives it: the message and the event that caused it. */
export interface OutgoingMail extends Notification {
  readonly eventId: string;
  readonly streamId: string;
  readonly owner: string | null;
}

/** A message a consumer gave up on: kept with its reason for a person to look at (and never lost). */
export interface ParkedMessage {
  readonly consumer: string;
  readonly sequence: number;
  readonly subject: string;
  readonly messageId: string | null;
  /** The stream's owner the message carried (AUTH=users), so a replay counts it for the same owner. */
  readonly owner: string | null;
  readonly body: string;
  readonly reason: string;
  /** Its failed attempts: deliveries whose decoding or reaction failed, and replays that failed again. */
  readonly attempts: number;
  readonly parkedAt: number;
}

/** One delivery of a message that could not be applied: its decoding or its reaction failed. */
export interface FailedAttempt {
  readonly consumer: string;
  readonly sequence: number;
  /**
   * When the broker stored it: with the sequence it names the message, so the count of an old message under
   * a sequence the broker hands out again (the stream was deleted and created anew) is not carried over.
   */
  readonly storedAt: number;
  readonly subject: string;
  readonly messageId: string | null;
  readonly owner: string | null;
  readonly body: string;
  readonly reason: string;
  /** Now: stamps the count (for pruning) and `parkedAt`. */
  readonly at: number;
}

/** What `recordFailure` made of a failed attempt. */
export interface FailureRecorded {
  /** The message's failed attempts so far, this one included. */
  readonly attempts: number;
  /** It reached the last attempt and is in `consumer_parked` now: terminate it at the broker. */
  readonly parked: boolean;
}

/** One transaction of a consumer service on its database: its inbox, its stream states, its effects. */
export interface ConsumerTx {
  /**
   * Records the eventIds in `consumer`'s inbox and resolves with those that were not there yet: the events to
   * apply. A concurrent transaction recording the same id makes this one wait for it, then leaves the id out.
   */
  admit(consumer: string, eventIds: readonly string[]): Promise<ReadonlySet<string>>;
  /** Takes eventIds out of `consumer`'s inbox again: admitted in this transaction, they were not applied. */
  release(consumer: string, eventIds: readonly string[]): Promise<void>;
  /** The number (`OutboxRow.streamSeq`) of the last event the consumer applied of each stream; absent: none. */
  streamSeqs(consumer: string, streamIds: readonly string[]): Promise<ReadonlyMap<string, number>>;
  /** Records the last number applied of each stream given; call after `saveStates` saved their states. */
  saveStreamSeqs(consumer: string, seqs: ReadonlyMap<string, number>): Promise<void>;
  /** The consumer's folded state of each stream (JSON as saved); absent: the stream is new to it. */
  states(consumer: string, streamIds: readonly string[]): Promise<ReadonlyMap<string, unknown>>;
  /** Replaces the consumer's state of each stream given (JSON-serializable); streams left out keep theirs. */
  saveStates(consumer: string, states: ReadonlyMap<string, unknown>): Promise<void>;
  /** The default notification transport: the `mail` table, one row per event. */
  insertMail(mail: readonly OutgoingMail[]): Promise<void>;
  /** Adds to the analytics counters of `owner` ('' when none). */
  addCounters(
    increments: readonly { readonly owner: string; readonly increment: CounterIncrement }[],
  ): Promise<void>;
  /** Forgets the failed attempts counted for these messages: they have been applied (or found applied). */
  forgetFailures(consumer: string, sequences: readonly number[]): Promise<void>;
  /** Removes a parked message (its replay committed); resolves false when it was not parked (any more). */
  unpark(consumer: string, sequence: number): Promise<boolean>;
}

/** A consumer service's database (PostgreSQL or SQLite, the server's own). */
export interface ConsumerStore {
  /**
   * Runs `work` in one database transaction: commits when it resolves, rolls everything back and rejects when
   * it (or the commit) fails. Keep `work` short: the transaction holds its locks while it runs.
   */
  transaction<T>(work: (tx: ConsumerTx) => Promise<T>): Promise<T>;
  /**
   * Counts one failed attempt at a message, in a transaction of its own; at the `maxAttempts`th it parks the
   * message (a sequence parked again keeps the first) and forgets its count. Counted here, not by the broker's
   * delivery count, so that deliveries that failed for another reason (the database, a crash) count for
   * nothing, and so that the count outlives a restart of the service: a message fails at most `maxAttempts`
   * times, wherever and whenever.
   */
  recordFailure(attempt: FailedAttempt, maxAttempts: number): Promise<FailureRecorded>;
  /** The parked messages of `consumer`, by sequence: every one (`'all'`) or those among `sequences`. */
  parked(consumer: string, sequences: readonly number[] | 'all'): Promise<readonly ParkedMessage[]>;
  /** A replay of a parked message failed again: one more attempt, and why. */
  replayFailed(consumer: string, sequence: number, reason: string): Promise<void>;
  /**
   * Deletes up to `limit` of `consumer`'s inbox rows applied before `before`, except those of an event it
   * has parked (a replay must still find an earlier copy applied), and failure counts last touched before
   * `before`. Resolves with the inbox rows deleted: call again while it deletes `limit`.
   */
  prune(consumer: string, before: number, limit: number): Promise<number>;
  /** Releases the database; call it after the runtime using the store has stopped. */
  close(): Promise<void>;
}
