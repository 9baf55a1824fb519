import type { OrderCommand } from '../../../src/orders/domain/commands';
import type { CommandPipelineDeps } from '../../../src/outbox/device/commands/command-pipeline';
import { EventBus } from '../../../src/outbox/device/event-bus';
import {
  projectEvents,
  refreshDelivery,
  refreshDeliveryWithin,
} from '../../../src/outbox/device/read-models/projections';
import { syncTables } from '../../../src/outbox/device/sync/outbox-store';
import { ManualClock, uuidv7Generator } from '../../../src/outbox/ids';
import type { OutpostDb } from '../../../src/outbox/page/database';
import { createPageCommandPipeline } from '../../../src/outbox/page/page-commands';
import type {
  OutboxRow,
  StoredDiscardRecord,
  StoredEvent,
  StoredServerEvent,
} from '../../../src/outbox/storage/rows';
import { openTestDb } from '../../support/app-db';

/** A fresh database per test (fake-indexeddb), a hand-moved clock and a handler writing into it. */
export function makeStore(options: Partial<Pick<CommandPipelineDeps, 'faults' | 'maxGroupSize'>> = {}) {
  const name = `outpost-test-${crypto.randomUUID()}`;
  const db = openTestDb({ name });
  const clock = new ManualClock();
  const ids = uuidv7Generator(clock);
  const bus = new EventBus();
  const clientId = ids();
  const published: StoredEvent[] = [];
  bus.events$.subscribe((event) => published.push(event));
  const handler = createPageCommandPipeline({ db, clock, ids, clientId, bus, ...options });
  return { name, db, clock, ids, bus, clientId, published, handler };
}

export type Store = ReturnType<typeof makeStore>;

/** Every table of the schema, so a "nothing written" check also covers tables added later (leases…). */
const tableNames = (db: OutpostDb): string[] => db.tables.map((table) => table.name);

export async function tableCounts(db: OutpostDb): Promise<Record<string, number>> {
  const names = tableNames(db);
  const counts = await Promise.all(names.map((name) => db.table(name).count()));
  return Object.fromEntries(names.map((name, index) => [name, counts[index] ?? 0]));
}

/** Every row of every table, for "nothing changed" assertions. */
export async function dump(db: OutpostDb): Promise<Record<string, unknown[]>> {
  const names = tableNames(db);
  const rows = await Promise.all(names.map((name) => db.table(name).toArray()));
  return Object.fromEntries(names.map((name, index) => [name, rows[index] ?? []]));
}

export const create = (orderId: string, customerName = 'Ada Lovelace', currency = 'EUR'): OrderCommand =>
  ({ type: 'CreateOrder', orderId, customerName, currency }) as OrderCommand;

export const add = (orderId: string, sku: string, quantity: number, unitPrice = 250): OrderCommand => ({
  type: 'AddProduct',
  orderId,
  sku,
  name: `Product ${sku}`,
  quantity,
  unitPrice,
});

export async function must<T>(
  promise: Promise<{ ok: true; value: T } | { ok: false; error: Error }>,
): Promise<T> {
  const result = await promise;
  if (!result.ok) throw result.error;
  return result.value;
}

/*
 * What the sync engine does to the store, reduced to the store's contract, so these tests do not depend on it:
 * each runs in one transaction and calls projectEvents / refreshDelivery exactly as the engine must.
 */

/** The tables the engine's transactions span: the core's and every stream type's read models. */
const syncTablesOf = (db: OutpostDb): string[] => syncTables(db.streamTypes);

let serverSeq = 0;

export function serverEvent(
  streamId: string,
  occurredAt: string,
  decision:
    | { type: 'OrderConfirmed'; orderNumber: string }
    | { type: 'OrderRejected'; code: string; reason: string },
  eventId: string,
): StoredServerEvent {
  serverSeq += 1;
  const base = { kind: 'server', eventId, streamId, serverSeq, schemaVersion: 1, occurredAt } as const;
  return decision.type === 'OrderConfirmed'
    ? {
        ...base,
        type: 'OrderConfirmed',
        data: { orderNumber: decision.orderNumber, confirmedAt: occurredAt },
      }
    : { ...base, type: 'OrderRejected', data: { code: decision.code, reason: decision.reason } };
}

/** Stores server events (skipping ones already stored) and projects them, as a push answer or pull would. */
export async function applyServerEvents(db: OutpostDb, events: readonly StoredServerEvent[]): Promise<void> {
  await db.transact('rw', syncTablesOf(db), async (records) => {
    const known = new Set(await records.storedEventIds(events.map((event) => event.eventId)));
    const fresh = events.filter((event) => !known.has(event.eventId));
    const positions = await records.appendEvents(fresh);
    await projectEvents(
      records,
      db.streamTypes,
      fresh.map((event, index) => ({ ...event, position: positions[index] })),
    );
  });
}

/** Changes outbox rows the way the sync loop does, then refreshes the orders' sync state. */
export async function updateOutbox(
  db: OutpostDb,
  eventIds: readonly string[],
  changes: Partial<Pick<OutboxRow, 'status' | 'attempts' | 'lastError' | 'deadCode' | 'nextAttemptAt'>>,
): Promise<void> {
  await db.transaction('rw', syncTablesOf(db), async () => {
    const rows = (await db.outbox.bulkGet([...eventIds])).filter((row) => row !== undefined);
    await db.outbox.bulkPut(rows.map((row) => ({ ...row, ...changes })));
    await refreshDelivery(
      db,
      rows.map((row) => row.streamId),
    );
  });
}

/**
 * Puts rows in flight the way a claim does: one lease record naming them and their streams, rows and
 * summaries untouched (views overlay the lease, `summaryView`).
 */
export async function leaseOutbox(
  db: OutpostDb,
  eventIds: readonly string[],
  lease: { batchId: string; ownerId?: string; until?: number },
): Promise<void> {
  await db.transaction('rw', syncTablesOf(db), async () => {
    const rows = (await db.outbox.bulkGet([...eventIds])).filter((row) => row !== undefined);
    await db.leases.add({
      batchId: lease.batchId,
      ownerId: lease.ownerId ?? 'test-flusher',
      until: lease.until ?? Number.MAX_SAFE_INTEGER,
      eventIds: [...eventIds],
      streamIds: [...new Set(rows.map((row) => row.streamId))],
    });
  });
}

/** Records a delivery the way an apply does: the rows are deleted (and no lease names them any more). */
export async function deliverOutbox(db: OutpostDb, eventIds: readonly string[]): Promise<void> {
  await db.transaction('rw', syncTablesOf(db), async () => {
    const rows = (await db.outbox.bulkGet([...eventIds])).filter((row) => row !== undefined);
    const delivered = new Set(eventIds);
    const leases = await db.leases.toArray();
    await db.outbox.bulkDelete([...eventIds]);
    await db.leases.bulkDelete(
      leases
        .filter((lease) => lease.eventIds.every((eventId) => delivered.has(eventId)))
        .map((lease) => lease.batchId),
    );
    await refreshDelivery(
      db,
      rows.map((row) => row.streamId),
    );
  });
}

/**
 * Discards a stream's undelivered entries from `version` on: deletes their outbox rows and appends one
 * DeliveryDiscarded record per discarded event, as the sync engine's discardDeadLetter does.
 */
export async function discardFrom(
  db: OutpostDb,
  streamId: string,
  version: number,
  reason: string,
  occurredAt: string,
  ids: () => string,
): Promise<void> {
  await db.transact('rw', syncTablesOf(db), async (records) => {
    const rows = (await records.streamRows(streamId))
      .filter((row) => row.version >= version)
      .sort((a, b) => a.version - b.version);
    if (rows.length === 0) return;
    await records.deleteOutboxRows(rows.map((row) => row.eventId));
    const discards: StoredDiscardRecord[] = rows.map((row) => ({
      kind: 'local',
      eventId: ids(),
      streamId,
      type: 'DeliveryDiscarded',
      schemaVersion: 1,
      data: { eventId: row.eventId, eventType: row.type, version: row.version, reason },
      occurredAt,
    }));
    const positions = await records.appendEvents(discards);
    await projectEvents(
      records,
      db.streamTypes,
      discards.map((record, index) => ({ ...record, position: positions[index] })),
    );
    await refreshDeliveryWithin(records, [streamId]);
  });
}
