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
  readonly body: string;
  readonly reason: string;
  readonly attempts: number;
  readonly parkedAt: number;
}

/** One transaction of a consumer service on its database: its inbox, its stream states, its effects. */
export interface ConsumerTx {
  /**
   * Records the eventIds in `consumer`'s inbox and resolves with those that were not there yet: the events to
   * apply. A concurrent transaction recording the same id makes this one wait for it, then leaves the id out.
   */
  admit(consumer: string, eventIds: readonly string[]): Promise<ReadonlySet<string>>;
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
}

/** A consumer service's database (PostgreSQL or SQLite, the server's own). */
export interface ConsumerStore {
  /**
   * Runs `work` in one database transaction: commits when it resolves, rolls everything back and rejects when
   * it (or the commit) fails. Keep `work` short: the transaction holds its locks while it runs.
   */
  transaction<T>(work: (tx: ConsumerTx) => Promise<T>): Promise<T>;
  /** Keeps a message for a person, outside any transaction; a sequence parked again keeps the first. */
  park(message: ParkedMessage): Promise<void>;
  /** Releases the database; call it after the runtime using the store has stopped. */
  close(): Promise<void>;
}
