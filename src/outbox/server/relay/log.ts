/** One structured log line, as the reference server's logger writes it (a level, a message, flat fields). */
export interface OutboxLogRecord {
  readonly level: 'info' | 'warn' | 'error';
  readonly msg: string;
  readonly [field: string]: string | number | boolean | null | undefined;
}

export type OutboxLog = (record: OutboxLogRecord) => void;

export const silentOutboxLog: OutboxLog = () => undefined;

export const errorText = (error: unknown): string => (error instanceof Error ? error.message : String(error));
