import type { DeliveryRow, LeaseRow, OutboxRow, SyncState } from '../../storage/rows';

/**
 * The delivery state every view shows for an outbox row. Rows store `pending`, `dead` or `parked`; a pending row
 * named by a lease record is in flight. A delivered row is deleted, so a client event with no row is
 * delivered (`deliveryStateOf`).
 */
export type OutboxEntryStatus = 'pending' | 'inflight' | 'dead' | 'parked';

/**
 * What the UI shows for a client event: its outbox entry's state; with no entry, delivered, or discarded when
 * the person gave up on it on this device (its row was deleted without a delivery).
 */
export type DeliveryState = OutboxEntryStatus | 'delivered' | 'discarded';

/** An outbox row as views show it: its stored status, or `inflight` while a live lease names it. */
export type OutboxEntry = Omit<OutboxRow, 'status'> & { readonly status: OutboxEntryStatus };

/**
 * The leases a live flusher may still hold at `now`. A lease past its `until` stays in the table until the
 * next claim deletes it, but its flusher is gone or about to let go: nothing it names is in flight any more.
 * Every view filters through this, so "sending" and "in flight" never outlive the lease.
 */
export function liveLeases(leases: readonly LeaseRow[], now: number): LeaseRow[] {
  return leases.filter((lease) => lease.until > now);
}

/**
 * When time alone next changes what `liveLeases` gives: the earliest `until` still ahead. A view re-derives
 * itself then (`overTime`), since no row changes when a lease passes.
 */
export function nextLeaseChange(leases: readonly LeaseRow[], now: number): number | null {
  let next: number | null = null;
  for (const lease of leases) if (lease.until > now) next = Math.min(next ?? lease.until, lease.until);
  return next;
}

/** The eventIds the given leases name; pass `liveLeases(…)` so an expired one counts for nothing. */
export function leasedEventIds(leases: readonly LeaseRow[]): Set<string> {
  const leased = new Set<string>();
  for (const lease of leases) for (const eventId of lease.eventIds) leased.add(eventId);
  return leased;
}

/** Rows with their derived state: the one place views turn lease records into "in flight". */
export function outboxEntriesView(
  rows: readonly OutboxRow[],
  leases: readonly LeaseRow[] | ReadonlySet<string>,
): OutboxEntry[] {
  const leased = leases instanceof Set ? leases : leasedEventIds(leases as readonly LeaseRow[]);
  return rows.map((row) =>
    row.status === 'pending' && leased.has(row.eventId) ? { ...row, status: 'inflight' } : row,
  );
}

/**
 * The streams the given leases name (pass `liveLeases(…)`). A record written before leases named their
 * streams names none.
 */
export function leasedStreamIds(leases: readonly LeaseRow[]): Set<string> {
  const leased = new Set<string>();
  for (const lease of leases) for (const streamId of lease.streamIds ?? []) leased.add(streamId);
  return leased;
}

/** A stream's delivery as views show it: its stored facts, and the state with "sending" overlaid. */
export interface DeliveryView extends Omit<DeliveryRow, 'state'> {
  readonly state: SyncState;
}

/**
 * A stream's delivery as views show it: stored `local` or `retrying` reads `sending` while a live lease
 * names the stream (pass `liveLeases(…)` or `leasedStreamIds(liveLeases(…))`). The stored state does not
 * count leases, so a claim writes no delivery row (docs/performance.md); `attention` and `delivered` already
 * say more than "in flight". A stream with no delivery row yet (nothing written) reads as delivered.
 */
export function deliveryView(
  streamId: string,
  delivery: DeliveryRow | undefined,
  leased: readonly LeaseRow[] | ReadonlySet<string>,
): DeliveryView {
  const stored = delivery ?? {
    streamId,
    version: 0,
    state: 'delivered',
    retryAt: null,
    blocked: null,
    discarded: null,
  };
  if (stored.state !== 'local' && stored.state !== 'retrying') return stored;
  const streams = leased instanceof Set ? leased : leasedStreamIds(leased as readonly LeaseRow[]);
  return streams.has(streamId) ? { ...stored, state: 'sending' } : stored;
}

/**
 * A client event's delivery state from its entry in a view; no entry means delivered, unless its version is
 * at or above the stream's `discardedFromVersion` (a discard deletes every undelivered row from there on).
 */
export function deliveryStateOf(
  entry: OutboxEntry | undefined,
  event?: { readonly version: number; readonly discardedFromVersion?: number | undefined },
): DeliveryState {
  if (entry) return entry.status;
  const from = event?.discardedFromVersion;
  return from !== undefined && event !== undefined && event.version >= from ? 'discarded' : 'delivered';
}
