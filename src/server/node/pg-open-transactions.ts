import type pg from 'pg';
import type { Logger } from './log';

/**
 * Watches the oldest transaction open on the PostgreSQL server. A pull returns only events of transactions
 * older than every one still open (`pg_snapshot_xmin`), so one transaction left open holds every pull back
 * until it ends: this makes that visible, as a figure in stats and a log line once it passes a bound.
 *
 * It samples `pg_current_snapshot()`, which any role may read: the oldest open transaction id and since when
 * this instance has seen it open (so the figure may be short by up to one interval). With the right to read
 * other sessions in `pg_stat_activity` (pg_read_all_stats), the exact age, pid and application are used.
 */

export interface OpenTransactionWatch {
  /** How long the oldest open transaction has been open, in ms; 0 when none is. */
  oldestOpenMs(): number;
  /** Samples once now (the timer does it every interval). */
  sample(): Promise<void>;
  stop(): void;
}

interface Sample {
  xmin: string;
  xmax: string;
  open_ms: number | null;
  pid: number | null;
  application_name: string | null;
  state: string | null;
}

const SAMPLE_SQL = `
  SELECT pg_snapshot_xmin(s)::text AS xmin, pg_snapshot_xmax(s)::text AS xmax, a.open_ms, a.pid,
         a.application_name, a.state
  FROM pg_current_snapshot() s
  LEFT JOIN LATERAL (
    SELECT (extract(epoch FROM clock_timestamp() - xact_start) * 1000)::float8 AS open_ms, pid,
           application_name, state
    FROM pg_stat_activity
    -- backend_xid is the 32-bit form of the xid8 the snapshot names.
    WHERE backend_xid IS NOT NULL
      AND backend_xid::text::bigint = pg_snapshot_xmin(s)::text::bigint % 4294967296
    LIMIT 1
  ) a ON true`;

export function watchOpenTransactions(options: {
  readonly pool: pg.Pool;
  /** Past this, the transaction is logged (once) as holding pulls back. */
  readonly boundMs: number;
  readonly intervalMs: number;
  readonly logger: Logger;
  readonly now?: () => number;
}): OpenTransactionWatch {
  const now = options.now ?? (() => performance.now());
  let tracked: { xid: string; seenAt: number; exactMs: number | null; sampledAt: number } | null = null;
  let warned: string | null = null;

  const oldestOpenMs = (): number => {
    if (!tracked) return 0;
    const sinceSeen = now() - tracked.seenAt;
    const exact = tracked.exactMs === null ? 0 : tracked.exactMs + (now() - tracked.sampledAt);
    return Math.round(Math.max(sinceSeen, exact));
  };

  const sample = async (): Promise<void> => {
    let row: Sample | undefined;
    try {
      row = (await options.pool.query<Sample>(SAMPLE_SQL)).rows[0];
    } catch {
      // The database is out of reach: health says so; this figure keeps its last value.
      return;
    }
    if (!row || !(await isOpen(row))) {
      tracked = null;
      return;
    }
    const at = now();
    if (tracked?.xid !== row.xmin) tracked = { xid: row.xmin, seenAt: at, exactMs: null, sampledAt: at };
    tracked.exactMs = row.open_ms;
    tracked.sampledAt = at;
    const heldMs = oldestOpenMs();
    if (heldMs > options.boundMs && warned !== row.xmin) {
      warned = row.xmin;
      options.logger({
        level: 'warn',
        msg: 'a transaction has been open longer than the bound: pulls return nothing written after it began until it ends',
        transactionId: row.xmin,
        openMs: heldMs,
        boundMs: options.boundMs,
        pid: row.pid,
        applicationName: row.application_name,
        state: row.state,
      });
    }
  };

  // xmin is the oldest transaction still running, or xmax when none is; but xmax is only one past the last
  // transaction that ended, so a transaction that began after it is also xmax. Its status tells.
  const isOpen = async (row: Sample): Promise<boolean> => {
    if (row.xmin !== row.xmax) return true;
    try {
      const status = await options.pool.query<{ status: string | null }>(
        'SELECT pg_xact_status($1::xid8) AS status',
        [row.xmin],
      );
      return status.rows[0]?.status === 'in progress';
    } catch {
      // "in the future": no transaction has that id yet, so none is open.
      return false;
    }
  };

  const timer = setInterval(() => void sample(), options.intervalMs);
  timer.unref();
  return { oldestOpenMs, sample, stop: () => clearInterval(timer) };
}
