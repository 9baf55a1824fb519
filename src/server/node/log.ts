import type { Clock } from '../../outbox/ids';

export type LogLevel = 'info' | 'warn' | 'error';

/** One structured log line: a level, a short message, and flat fields a log pipeline can index. */
export interface LogRecord {
  readonly level: LogLevel;
  readonly msg: string;
  readonly [field: string]: string | number | boolean | null | undefined;
}

export type Logger = (record: LogRecord) => void;

/**
 * Writes each record as one JSON line with a `time` first, so `grep`, `jq` and log shippers all read it.
 * Errors go to stderr, everything else to stdout.
 */
export function jsonLineLogger(
  clock: Clock,
  out: (line: string) => void = (line) => process.stdout.write(line),
  err: (line: string) => void = (line) => process.stderr.write(line),
): Logger {
  return (record) => {
    const line = `${JSON.stringify({ time: new Date(clock.now()).toISOString(), ...record })}\n`;
    (record.level === 'error' ? err : out)(line);
  };
}

/** For tests and embedders that do not want logs. */
export const silentLogger: Logger = () => undefined;
