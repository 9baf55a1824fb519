/** How a flush ended, as every context reports it (the engine, the worker's answer, the sync channel). */
export type FlushOutcome = 'idle' | 'drained' | 'transient-failure' | 'auth-required' | 'offline';

/** What one flush did, and when the next one has something to send. */
export interface FlushReport {
  /** Events put in push requests (an entry resent after a split counts each time). */
  readonly sent: number;
  readonly delivered: number;
  readonly dead: number;
  /** Entries sent back to pending with a backoff (a `retry` answer or a transient failure). */
  readonly retrying: number;
  /** Server events stored for the first time by the pull that followed. */
  readonly pulled: number;
  readonly outcome: FlushOutcome;
  /** When a flush next has something to send; null when nothing waits on time. */
  readonly nextAttemptAt: number | null;
}
