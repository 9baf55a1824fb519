import type { OutboxRow } from './outbox-rows';

/**
 * What the relay needs from the database that holds the outbox (PostgreSQL, SQLite, memory): leadership,
 * the unpublished rows in order, marking what the broker acknowledged, and pruning what was published long
 * enough ago. Implemented beside each storage, over the same tables its pushes write.
 */
export interface RelayStore {
  /**
   * Whether this relay may publish now: true for the one relay that leads, false for a standby. Asked
   * before every batch, so a relay that lost its lease or its lock stops publishing before its next batch.
   */
  lead(): Promise<boolean>;
  /**
   * The oldest unpublished rows, by position, at most `limit`, leaving out `inFlight` (positions the relay has
   * sent and not marked yet: the batch before this one).
   */
  unpublished(limit: number, inFlight?: readonly number[]): Promise<readonly OutboxRow[]>;
  /** Marks rows published at `at` (ms): only ever rows the broker acknowledged. */
  markPublished(positions: readonly number[], at: number): Promise<void>;
  /** Deletes rows published before `before` (ms); resolves with how many went. */
  prune(before: number): Promise<number>;
  /** Gives up leadership and closes what the store opened. */
  close(): Promise<void>;
}

/** What an operator watches (`GET /api/sync/stats`, `outbox`). */
export interface OutboxStats {
  /** Rows not yet published. */
  readonly depth: number;
  /** How long the oldest unpublished row has waited, in ms; 0 when none waits. */
  readonly oldestUnpublishedMs: number;
  /** Rows marked published over the last minute, per second. */
  readonly publishedPerSecond: number;
}

/** Reads the outbox's figures; a server that does not relay still answers them (the outbox fills). */
export interface OutboxStatsReader {
  /** The figures at `now` (ms); reads only, so any instance may ask, leader or not. */
  outboxStats(now: number): Promise<OutboxStats>;
}

/** The window `publishedPerSecond` averages over; published rows are kept at least this long. */
export const PUBLISH_RATE_WINDOW_MS = 60_000;
