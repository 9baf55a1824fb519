import type { LeaseRow, OutboxRow } from '../../storage/rows';
import { leasedEventIds } from '../read-models/outbox-view';

/**
 * The lane rule, pure: which pending rows a claim may take. Each stream is a lane; its lowest undelivered
 * version is its head. The head may go when nothing older of its stream is in flight or dead, it is not in
 * a live lease, its backoff has passed and this flush has not sent it already; its successors follow it in
 * order in the same batch, never alone. A lane held back is skipped, so it never holds back another stream.
 * The claim transaction (`outbox-store.ts`) reads the rows and writes the lease; everything it decides is
 * decided here.
 */

/** What the claim knows about leases before it scans: which are gone, and which rows the live ones name. */
export interface LeaseSplit {
  /** Records whose `until` passed (or all of them, for a flusher holding the flush lock): to delete. */
  readonly expired: readonly LeaseRow[];
  readonly live: readonly LeaseRow[];
  /** Rows in a live lease: in flight. */
  readonly leased: ReadonlySet<string>;
}

export function splitLeases(leases: readonly LeaseRow[], now: number, reclaimAll: boolean): LeaseSplit {
  const gone = (lease: LeaseRow) => reclaimAll || lease.until <= now;
  const live = leases.filter((lease) => !gone(lease));
  return { expired: leases.filter(gone), live, leased: leasedEventIds(live) };
}

/**
 * Per stream, the lowest version that holds the lane back: a dead row or a row in a live lease. Versions
 * above it wait (in flight rows are stored as pending, so they are found through the leases).
 */
export function laneBlocks(liveLeaseRows: readonly (OutboxRow | undefined)[], dead: readonly OutboxRow[]) {
  const blockedBelow = new Map<string, number>();
  for (const row of [...liveLeaseRows, ...dead]) {
    if (!row) continue;
    const current = blockedBelow.get(row.streamId);
    if (current === undefined || row.version < current) blockedBelow.set(row.streamId, row.version);
  }
  return blockedBelow;
}

/**
 * When another flusher's live lease gives its rows back: the earliest `until` among the live leases that
 * still hold a pending row (a lease over delivered or dead rows returns nothing). A wake-up for the schedule.
 */
export function leaseExpiresAt(live: readonly LeaseRow[], liveLeaseRows: readonly (OutboxRow | undefined)[]) {
  const held = new Set(liveLeaseRows.flatMap((row) => (row?.status === 'pending' ? [row.eventId] : [])));
  let earliest: number | null = null;
  for (const lease of live) {
    if (!lease.eventIds.some((eventId) => held.has(eventId))) continue;
    earliest = Math.min(earliest ?? lease.until, lease.until);
  }
  return earliest;
}

export interface LaneScanOptions {
  readonly now: number;
  /** Most rows to take. */
  readonly limit: number;
  /** Rows already sent by this flush: their lanes wait for the next flush, so one flush cannot spin. */
  readonly exclude: ReadonlySet<string>;
  /** Take lane heads even before their backoff passes (an explicit "sync now"). */
  readonly ignoreBackoff: boolean;
}

/**
 * The scan over pending rows in position order: `visit` each row until `full`. `candidates` are the rows the
 * lane rule lets go, in position order; `earliestWaitingAt` the earliest backoff among lanes held back only
 * by time; `lowest` the lowest position visited (where the next claim's scan may start).
 */
export class LaneScan {
  readonly candidates: OutboxRow[] = [];
  earliestWaitingAt: number | null = null;
  lowest = Number.POSITIVE_INFINITY;
  private readonly lanes = new Map<string, { open: boolean; version: number }>();

  constructor(
    private readonly options: LaneScanOptions,
    private readonly blockedBelow: ReadonlyMap<string, number>,
    private readonly leased: ReadonlySet<string>,
  ) {}

  get full(): boolean {
    return this.candidates.length >= this.options.limit;
  }

  visit(row: OutboxRow): void {
    const { now, exclude, ignoreBackoff } = this.options;
    this.lowest = Math.min(this.lowest, row.position);
    const inFlight = this.leased.has(row.eventId);
    const lane = this.lanes.get(row.streamId);
    if (lane) {
      // A successor goes only right behind its predecessor in this batch.
      if (lane.open && !inFlight && row.version === lane.version + 1) {
        lane.version = row.version;
        this.candidates.push(row);
      } else {
        lane.open = false;
      }
      return;
    }
    const blocker = this.blockedBelow.get(row.streamId);
    let open = !inFlight && !(blocker !== undefined && blocker < row.version);
    const waiting = exclude.has(row.eventId) || (!ignoreBackoff && row.nextAttemptAt > now);
    if (open && waiting) {
      open = false;
      const at = Math.max(row.nextAttemptAt, now);
      this.earliestWaitingAt = Math.min(this.earliestWaitingAt ?? at, at);
    }
    this.lanes.set(row.streamId, { open, version: row.version });
    if (open) this.candidates.push(row);
  }
}
