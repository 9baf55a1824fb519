/** One structured log line, as the reference server's logger writes it (a level, a message, flat fields). */
export interface OutboxLogRecord {
  readonly level: 'info' | 'warn' | 'error';
  readonly msg: string;
  readonly [field: string]: string | number | boolean | null | undefined;
}

/** Where the relay and the consumers report changes of state; must not throw, as they call it mid-batch. */
export type OutboxLog = (record: OutboxLogRecord) => void;

/** The default: says nothing. A server should pass its own logger, or a stalled relay goes unnoticed. */
export const silentOutboxLog: OutboxLog = () => undefined;

/** An error's message (anything thrown, not only an `Error`) for a log field or a parked message's reason. */
export const errorText = (error: unknown): string => (error instanceof Error ? error.message : String(error));
