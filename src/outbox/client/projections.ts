import { evolve, initialOrderState, type OrderState, orderTotal } from '../../orders/domain/order';
import { orderIdOf } from '../protocol/messages';
import { all, type SyncTables } from '../storage/sync-db';
import type {
  OrderDetail,
  OrderSummary,
  OutboxRow,
  StoredEvent,
  StoredSyncState,
  StreamRow,
  TimelineEntry,
} from './db';

/**
 * Read models are pure folds of the event store. Everything here derives from stored events and outbox rows
 * only (never from the clock at projection time), so `rebuildReadModels()` reproduces the inline tables
 * exactly.
 */

/** One line a person can read about an event, for the order's timeline. */
export function describeEvent(event: StoredEvent): string {
  switch (event.type) {
    case 'OrderCreated':
      return `Created for ${event.data.customerName} in ${event.data.currency}`;
    case 'ProductAdded':
      return `Added ${event.data.quantity} × ${event.data.name} (${event.data.sku})`;
    case 'ProductRemoved':
      return `Removed ${event.data.sku}`;
    case 'OrderPlaced':
      return `Placed with ${event.data.lineCount} ${event.data.lineCount === 1 ? 'line' : 'lines'}`;
    case 'OrderCancelled':
      return `Cancelled: ${event.data.reason}`;
    case 'OrderConfirmed':
      return `Confirmed as ${event.data.orderNumber}`;
    case 'OrderRejected':
      return `Rejected by the server (${event.data.code}): ${event.data.reason}`;
    case 'DeliveryDiscarded':
      return `Discarded ${event.data.eventType} (version ${event.data.version}) on this device: ${event.data.reason}`;
    default: {
      const unknownEvent: never = event;
      return unknownEvent;
    }
  }
}

function timelineEntry(event: StoredEvent): TimelineEntry {
  return {
    eventId: event.eventId,
    kind: event.kind,
    type: event.type,
    version: event.kind === 'client' ? event.version : null,
    serverSeq: event.kind === 'server' ? event.serverSeq : null,
    occurredAt: event.occurredAt,
    summary: describeEvent(event),
  };
}

/**
 * The aggregate as this device must see it: client events before the discarded version, plus every server
 * decision. Local records carry no facts about the order.
 */
function foldKept(events: readonly StoredEvent[], discardedFromVersion: number | undefined): OrderState {
  let state: OrderState = initialOrderState;
  for (const event of events) {
    if (event.kind === 'local') continue;
    if (
      event.kind === 'client' &&
      discardedFromVersion !== undefined &&
      event.version >= discardedFromVersion
    ) {
      continue;
    }
    state = evolve(state, event);
  }
  return state;
}

/** The stream's stored events up to `position` (all of them when unknown), in the order they were stored. */
function eventsUpTo(events: readonly StoredEvent[], position: number | undefined): StoredEvent[] {
  return events
    .filter((event) => position === undefined || (event.position ?? 0) <= position)
    .sort((a, b) => (a.position ?? 0) - (b.position ?? 0));
}

export interface SyncFields {
  readonly syncState: StoredSyncState;
  readonly blockedReason: string | null;
  readonly retryAt: number | null;
}

/** Whether a summary already holds these sync fields, so a refresh writes only what changed. */
export const sameSyncFields = (summary: SyncFields, fields: SyncFields): boolean =>
  summary.syncState === fields.syncState &&
  summary.blockedReason === fields.blockedReason &&
  summary.retryAt === fields.retryAt;

/**
 * Delivery state of one order as stored, from its outbox rows (delivered rows are gone); a discard on this
 * device also blocks the order. Leases are not counted: a claim or an expired lease then changes no summary,
 * and views show a leased order as sending (`summaryView`, src/outbox/client/outbox-view.ts).
 */
export function syncFieldsOf(rows: readonly OutboxRow[], stream: StreamRow | undefined): SyncFields {
  let dead: OutboxRow | undefined;
  let retryAt: number | null = null;
  let pending = false;
  for (const row of rows) {
    if (row.status === 'dead') {
      if (!dead || row.version < dead.version) dead = row;
    } else if (row.attempts > 0) {
      retryAt = Math.min(retryAt ?? row.nextAttemptAt, row.nextAttemptAt);
    } else {
      pending = true;
    }
  }
  if (dead) {
    const why = dead.lastError ?? dead.deadCode ?? 'no reason given';
    const waiting = rows.some((row) => row.version > dead.version);
    return {
      syncState: 'attention',
      blockedReason: `${dead.type} (version ${dead.version}) was not accepted: ${why}.${
        waiting ? ' Later changes wait behind it.' : ''
      } Retry or discard it.`,
      retryAt: null,
    };
  }
  const discarded =
    stream?.discardedFromVersion === undefined
      ? null
      : `Changes from version ${stream.discardedFromVersion} on were discarded on this device and will never reach the server${
          stream.discardedReason ? `: ${stream.discardedReason}` : ''
        }. The order takes no more changes.`;
  return {
    syncState: retryAt !== null ? 'retrying' : pending ? 'local' : 'delivered',
    blockedReason: discarded,
    retryAt,
  };
}

function groupByStream(events: readonly StoredEvent[]): Map<string, StoredEvent[]> {
  const byStream = new Map<string, StoredEvent[]>();
  for (const event of events) {
    const group = byStream.get(event.streamId);
    if (group) group.push(event);
    else byStream.set(event.streamId, [event]);
  }
  return byStream;
}

/** Each stream's outbox rows. */
async function outboxRowsByStream(
  db: SyncTables,
  streamIds: readonly string[],
): Promise<Map<string, OutboxRow[]>> {
  // One getAll per stream, not anyOf: Dexie walks anyOf with a cursor, one IndexedDB round trip per row, and
  // this runs in every command's transaction (docs/performance.md).
  // `all`, not the native one: on Dexie it keeps the transaction zone however many streams there are.
  const rows = await all(streamIds.map((streamId) => db.outbox.where('streamId').equals(streamId).toArray()));
  const byStream = new Map<string, OutboxRow[]>();
  for (const [index, streamId] of streamIds.entries()) byStream.set(streamId, rows[index] ?? []);
  return byStream;
}

interface StreamProjection {
  stream: StreamRow;
  detail: OrderDetail;
  summary: OrderSummary | undefined;
}

/**
 * Synchronous on purpose: called once per stream inside the caller's transaction, and Dexie keeps its
 * transaction zone across only a bounded number of native awaits, so awaiting per stream broke projections
 * touching more than about a hundred streams (PrematureCommitError, docs/performance.md). `stored` holds the
 * stream's stored events, prefetched when a local record needs them.
 */
function projectStream(
  streamId: string,
  events: readonly StoredEvent[],
  current: StreamProjection,
  stored: readonly StoredEvent[],
): StreamProjection {
  let { stream, summary } = current;
  const seen = new Set(current.detail.timeline.map((entry) => entry.eventId));
  const timeline = [...current.detail.timeline];
  let state = stream.state;
  // The last state that had an order in it: if a discard takes back everything down to OrderCreated, the
  // person still sees which order it was (with no lines) and why it is blocked.
  let facts = state.status === 'none' ? undefined : state;
  let createdAt = summary?.createdAt ?? null;
  let updatedAt = summary?.updatedAt ?? null;
  let changed = false;

  for (const event of events) {
    // Projecting is idempotent by eventId: a server event applied twice changes nothing.
    if (seen.has(event.eventId)) continue;
    seen.add(event.eventId);
    changed = true;
    timeline.push(timelineEntry(event));
    updatedAt = event.occurredAt;

    if (event.kind === 'client') {
      stream = { ...stream, version: Math.max(stream.version, event.version) };
      const from = stream.discardedFromVersion;
      if (from === undefined || event.version < from) state = evolve(state, event);
    } else if (event.kind === 'server') {
      state = evolve(state, event);
    } else {
      const from = stream.discardedFromVersion;
      if (from === undefined || event.data.version < from) {
        stream = { ...stream, discardedFromVersion: event.data.version, discardedReason: event.data.reason };
        // Versions already folded may now be discarded: fold again from the stored events up to this record.
        state = foldKept(eventsUpTo(stored, event.position), event.data.version);
      }
    }
    if (state.status !== 'none') {
      facts = state;
      createdAt ??= event.occurredAt;
    }
  }
  if (!changed) return current;

  stream = { ...stream, state };
  const orderId = orderIdOf(streamId);
  const detail: OrderDetail = { orderId, lines: state.status === 'none' ? [] : state.lines, timeline };
  const shown = state.status !== 'none' ? state : facts && { ...facts, lines: [] };
  if (shown) {
    summary = {
      orderId,
      customerName: shown.customerName,
      customerKey: shown.customerName.toLowerCase(),
      currency: shown.currency,
      status: shown.status,
      lineCount: shown.lines.length,
      total: orderTotal(shown.lines),
      syncState: summary?.syncState ?? 'local',
      orderNumber: shown.orderNumber,
      rejection: shown.rejection,
      cancellationReason: shown.cancellationReason,
      blockedReason: summary?.blockedReason ?? null,
      retryAt: summary?.retryAt ?? null,
      version: stream.version,
      createdAt: createdAt ?? updatedAt ?? '',
      updatedAt: updatedAt ?? '',
    };
  } else if (summary) {
    summary = { ...summary, version: stream.version, updatedAt: updatedAt ?? summary.updatedAt };
  }
  return { stream, detail, summary };
}

/** An order's read-model rows as stored; undefined where the order has none yet. */
export interface StoredProjection {
  readonly stream: StreamRow | undefined;
  readonly detail: OrderDetail | undefined;
  readonly summary: OrderSummary | undefined;
}

/**
 * The rows one order's events turn `current` into, or undefined when they change nothing. Pure, for a
 * caller that read the rows itself and writes the result: the command handler reads them together with its
 * own checks, so a command costs fewer IndexedDB round trips (docs/performance.md). `outbox` is every outbox
 * row of the order including those written with these events (no lease is needed); `stored` its stored
 * events, needed only when `events` holds a local record.
 */
export function projectRows(
  streamId: string,
  events: readonly StoredEvent[],
  current: StoredProjection,
  outbox: readonly OutboxRow[],
  stored: readonly StoredEvent[] = [],
): { stream: StreamRow; detail: OrderDetail; summary: OrderSummary | undefined } | undefined {
  const orderId = orderIdOf(streamId);
  const base: StreamProjection = {
    stream: current.stream ?? { streamId, version: 0, state: initialOrderState },
    detail: current.detail ?? { orderId, lines: [], timeline: [] },
    summary: current.summary,
  };
  const next = projectStream(streamId, events, base, stored);
  if (next === base) return undefined;
  const summary = next.summary && { ...next.summary, ...syncFieldsOf(outbox, next.stream) };
  return { stream: next.stream, detail: next.detail, summary };
}

/**
 * Folds stored events (client, server and local records) into `streams`, `orderSummaries` and
 * `orderDetails`, then recomputes the touched orders' sync state from their outbox rows.
 *
 * Contract: call inside an open rw transaction over events, outbox, streams, orderSummaries and
 * orderDetails, after the events were added to `events` (with their positions), in position order. Events already
 * projected (same eventId) are skipped.
 */
export async function projectEvents(db: SyncTables, events: readonly StoredEvent[]): Promise<void> {
  if (events.length === 0) return;
  const byStream = groupByStream(events);
  const streamIds = [...byStream.keys()];
  const orderIds = streamIds.map(orderIdOf);
  const [streams, summaries, details, outbox] = await Promise.all([
    db.streams.bulkGet(streamIds),
    db.orderSummaries.bulkGet(orderIds),
    db.orderDetails.bulkGet(orderIds),
    outboxRowsByStream(db, streamIds),
  ]);

  // A local record (a discard) folds the stream again from its stored events: fetch those first, with
  // IndexedDB requests, so the projection loop below awaits nothing.
  const stored = new Map<string, StoredEvent[]>();
  for (const streamId of streamIds) {
    if (byStream.get(streamId)?.some((event) => event.kind === 'local')) {
      stored.set(streamId, await db.events.where('streamId').equals(streamId).toArray());
    }
  }

  const nextStreams: StreamRow[] = [];
  const nextSummaries: OrderSummary[] = [];
  const nextDetails: OrderDetail[] = [];
  for (const [index, streamId] of streamIds.entries()) {
    const next = projectRows(
      streamId,
      byStream.get(streamId) ?? [],
      { stream: streams[index], detail: details[index], summary: summaries[index] },
      outbox.get(streamId) ?? [],
      stored.get(streamId) ?? [],
    );
    if (!next) continue;
    nextStreams.push(next.stream);
    nextDetails.push(next.detail);
    if (next.summary) nextSummaries.push(next.summary);
  }
  await Promise.all([
    db.streams.bulkPut(nextStreams),
    db.orderDetails.bulkPut(nextDetails),
    db.orderSummaries.bulkPut(nextSummaries),
  ]);
}

/**
 * Recomputes each order's stored `syncState` and `blockedReason` from its outbox rows: any dead row →
 * attention (naming the first dead event and its error); else retried → sending; else pending → local; else
 * (no row left) delivered. Call inside a transaction over outbox, streams and orderSummaries whenever
 * outbox rows change; a lease alone changes nothing stored (`summaryView`).
 */
export async function refreshSyncState(db: SyncTables, streamIds: Iterable<string>): Promise<void> {
  const ids = [...new Set(streamIds)];
  if (ids.length === 0) return;
  const [streams, summaries, outbox] = await Promise.all([
    db.streams.bulkGet(ids),
    db.orderSummaries.bulkGet(ids.map(orderIdOf)),
    outboxRowsByStream(db, ids),
  ]);
  const changed: OrderSummary[] = [];
  for (const [index, streamId] of ids.entries()) {
    const summary = summaries[index];
    if (!summary) continue;
    const fields = syncFieldsOf(outbox.get(streamId) ?? [], streams[index]);
    if (!sameSyncFields(summary, fields)) {
      changed.push({ ...summary, ...fields });
    }
  }
  if (changed.length > 0) await db.orderSummaries.bulkPut(changed);
}
