import Dexie from 'dexie';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openAppDb } from '../../src/app/schema';
import { EventBus } from '../../src/outbox/device/event-bus';
import {
  deliveryStateOf,
  liveLeases,
  outboxEntriesView,
} from '../../src/outbox/device/read-models/outbox-view';
import { retryDeadLetter } from '../../src/outbox/device/sync/dead-letters';
import { createSyncEngine } from '../../src/outbox/device/sync/engine';
import { syncStorage } from '../../src/outbox/device/sync/sync-storage';
import { ManualClock, uuidv7Generator } from '../../src/outbox/ids';
import { openTestDb } from '../support/app-db';
import { orderSummary } from '../support/order-rows';
import { BASE_URL, createTestBackend } from './sync/harness';

/**
 * An installed app upgrades whatever database an earlier version left on the device. Each schema version
 * the app ever shipped is written here by hand, exactly as that version declared it, filled with events and
 * outbox rows in every state that version stored, and then opened with today's `openAppDb()`: no event and no
 * undelivered row may be lost. A new `db.version(n)` adds its predecessor to SHIPPED_SCHEMAS (and any data
 * reshaping it does to `upgradedOutbox`), and every older version keeps being checked.
 *
 * Reshaping so far: version 2 stores in flight as lease records and deletes delivered rows, so a row that was
 * `delivered` is gone, one that was `inflight` is `pending` again (its lease did not survive, as if it had
 * expired: the resend is answered `duplicate`), and no row keeps `leaseOwner`, `leaseUntil` or `deliveredAt`.
 * Version 3 stored a retried order as `retrying` with the time of its next attempt (`retryAt`). Version 4 (the
 * aggregate-agnostic core) drops the order summaries and details for stream types' own read models and the
 * core's delivery rows, rebuilt from the events and the outbox: what the orders list shows is checked below.
 * Version 5 adds the order's counter rows; a version 4 database (no order summaries left to write here) is
 * checked in test/unit/orders/store-migration-v5.test.ts.
 */
const SHIPPED_SCHEMAS: Record<number, Record<string, string>> = {
  1: {
    events: '++position, &eventId, &[streamId+version], streamId',
    outbox: '&eventId, position, [status+position], streamId, [streamId+version]',
    streams: '&streamId',
    commands: '&commandId',
    orderSummaries: '&orderId, status, syncState, updatedAt, customerKey',
    orderDetails: '&orderId',
    meta: '&key',
  },
  2: {
    events: '++position, &eventId, &[streamId+version], streamId',
    outbox: '&eventId, position, [status+position], streamId, [streamId+version]',
    streams: '&streamId',
    commands: '&commandId',
    orderSummaries: '&orderId, status, syncState, updatedAt, customerKey',
    orderDetails: '&orderId',
    meta: '&key',
    leases: '&batchId',
  },
  // Version 3 changed no index, only what an order summary holds (`retrying`, `retryAt`).
  3: {
    events: '++position, &eventId, &[streamId+version], streamId',
    outbox: '&eventId, position, [status+position], streamId, [streamId+version]',
    streams: '&streamId',
    commands: '&commandId',
    orderSummaries: '&orderId, status, syncState, updatedAt, customerKey',
    orderDetails: '&orderId',
    meta: '&key',
    leases: '&batchId',
  },
};

const ORDER_ID = '0193a000-0000-7000-8000-000000000001';
const STREAM = `order-${ORDER_ID}`;
const OTHER_ORDER_ID = '0193a000-0000-7000-8000-000000000002';
const OTHER_STREAM = `order-${OTHER_ORDER_ID}`;
const CLIENT_ID = '0193a000-0000-7000-8000-0000000000c1';
const at = '2026-11-26T12:00:00.000Z';
const metadata = (n: number) => ({
  commandId: `0193a000-0000-7000-8000-00000000010${n}`,
  correlationId: `0193a000-0000-7000-8000-00000000010${n}`,
  causationId: null,
  occurredAt: at,
  clientId: CLIENT_ID,
});

const clientEvents = [
  {
    kind: 'client',
    eventId: '0193a000-0000-7000-8000-000000000201',
    streamId: STREAM,
    version: 1,
    type: 'OrderCreated',
    schemaVersion: 1,
    data: { orderId: ORDER_ID, customerName: 'Ada', currency: 'EUR' },
    metadata: metadata(1),
    occurredAt: at,
  },
  {
    kind: 'client',
    eventId: '0193a000-0000-7000-8000-000000000202',
    streamId: STREAM,
    version: 2,
    type: 'ProductAdded',
    schemaVersion: 1,
    data: { sku: 'BEANS-1', name: 'Beans', quantity: 2, unitPrice: 1250 },
    metadata: metadata(2),
    occurredAt: at,
  },
  {
    kind: 'client',
    eventId: '0193a000-0000-7000-8000-000000000203',
    streamId: STREAM,
    version: 3,
    type: 'OrderPlaced',
    schemaVersion: 1,
    data: { total: 2500, lineCount: 1 },
    metadata: metadata(3),
    occurredAt: at,
  },
  {
    kind: 'client',
    eventId: '0193a000-0000-7000-8000-000000000204',
    streamId: OTHER_STREAM,
    version: 1,
    type: 'OrderCreated',
    schemaVersion: 1,
    data: { orderId: OTHER_ORDER_ID, customerName: 'Grace', currency: 'EUR' },
    metadata: metadata(4),
    occurredAt: at,
  },
];

/**
 * The outbox state each client event has in the old database, in event order (null: no row). Before
 * version 2 a delivered row stayed and an in-flight one said so; from version 2 a delivered row is gone and
 * one in flight is a pending row named by a lease.
 */
const OLD_STATUSES: Record<number, readonly (string | null)[]> = {
  1: ['delivered', 'inflight', 'pending', 'dead'],
  2: [null, 'pending', 'pending', 'dead'],
  3: [null, 'pending', 'pending', 'dead'],
};

/**
 * From version 2 an entry in flight is a pending row named by a lease record: the second event's, here, left
 * by a flusher the upgrade outlived (the old page closed mid-push).
 */
const OLD_LEASE = {
  batchId: '0193a000-0000-7000-8000-000000000401',
  ownerId: 'page-of-the-old-version',
  until: Date.UTC(2026, 10, 26, 12, 1),
  eventIds: ['0193a000-0000-7000-8000-000000000202'],
  streamIds: [STREAM],
};
/** The second event's row was tried before (it was in flight, or failed once): its next attempt is due then. */
const RETRY_AT = Date.UTC(2026, 10, 26, 12, 2);

const serverEvent = {
  kind: 'server',
  eventId: '0193a000-0000-7000-8000-000000000301',
  streamId: STREAM,
  serverSeq: 7,
  type: 'OrderConfirmed',
  schemaVersion: 1,
  data: { orderNumber: 'SO-000007', confirmedAt: at },
  occurredAt: at,
};

function outboxRow(version: number, event: (typeof clientEvents)[number], position: number, status: string) {
  const tried = position === 2;
  const row = {
    eventId: event.eventId,
    position,
    streamId: event.streamId,
    version: event.version,
    type: event.type,
    status,
    attempts: status === 'pending' && !tried ? 0 : 3,
    nextAttemptAt: tried ? RETRY_AT : 0,
    lastError: status === 'dead' ? 'rejected: invalid' : null,
    deadCode: status === 'dead' ? 'rejected:invalid' : null,
    createdAt: Date.UTC(2026, 10, 26, 12),
  };
  if (version >= 2) return row;
  return {
    ...row,
    leaseOwner: status === 'inflight' ? 'tab-1' : null,
    leaseUntil: status === 'inflight' ? Date.UTC(2026, 10, 26, 12, 1) : null,
    deliveredAt: status === 'delivered' ? Date.UTC(2026, 10, 26, 12, 0, 5) : null,
  };
}

/** An order summary as versions 1 and 2 stored it: `sending` meant "tried, or in flight". */
const oldSummary = (orderId: string, customerName: string, syncState: string) => ({
  orderId,
  customerName,
  customerKey: customerName.toLowerCase(),
  currency: 'EUR',
  status: 'placed',
  lineCount: 1,
  total: 2500,
  syncState,
  orderNumber: null,
  rejection: null,
  cancellationReason: null,
  blockedReason: null,
  version: 3,
  createdAt: at,
  updatedAt: at,
});
const OLD_SUMMARIES = [
  oldSummary(ORDER_ID, 'Ada', 'sending'),
  oldSummary(OTHER_ORDER_ID, 'Grace', 'attention'),
];

let names: string[] = [];
afterEach(async () => {
  for (const name of names) await Dexie.delete(name);
  names = [];
});

async function writeWithShippedSchema(version: number, name: string) {
  const schema = SHIPPED_SCHEMAS[version];
  if (!schema) throw new Error(`No shipped schema ${version}`);
  const old = new Dexie(name);
  old.version(version).stores(schema);
  await old.open();
  const names = ['events', 'outbox', 'meta', 'orderSummaries', ...(version >= 2 ? ['leases'] : [])];
  const tables = names.map((table) => old.table(table));
  await old.transaction('rw', tables, async () => {
    if (version >= 2) await old.table('leases').add(OLD_LEASE);
    await old.table('events').bulkAdd([...clientEvents, serverEvent]);
    await old.table('outbox').bulkAdd(
      clientEvents.flatMap((event, index) => {
        const status = OLD_STATUSES[version]?.[index] ?? null;
        return status === null ? [] : [outboxRow(version, event, index + 1, status)];
      }),
    );
    await old.table('meta').put({ key: 'clientId', value: CLIENT_ID });
    await old.table('orderSummaries').bulkAdd(OLD_SUMMARIES);
  });
  const before = {
    events: await old.table('events').orderBy('position').toArray(),
    outbox: (await old.table('outbox').orderBy('position').toArray()) as Record<string, unknown>[],
    meta: await old.table('meta').toArray(),
  };
  old.close();
  return before;
}

/** What today's schema keeps of the outbox rows a database of schema `version` held. */
function upgradedOutbox(
  version: number,
  rows: readonly Record<string, unknown>[],
): Record<string, unknown>[] {
  if (version >= 2) return [...rows];
  return rows
    .filter((row) => row.status !== 'delivered')
    .map(({ leaseOwner: _owner, leaseUntil: _until, deliveredAt: _at, ...row }) => ({
      ...row,
      status: row.status === 'inflight' ? 'pending' : row.status,
    }));
}

describe('opening a database written by an earlier app version', () => {
  for (const version of Object.keys(SHIPPED_SCHEMAS).map(Number)) {
    it(`keeps every event, outbox row and the client id from schema version ${version}`, async () => {
      const name = `outpost-migration-v${version}-${Math.random().toString(36).slice(2)}`;
      names.push(name);
      const before = await writeWithShippedSchema(version, name);

      const db = openTestDb({ name });
      await db.open();
      expect(db.verno).toBeGreaterThanOrEqual(version);
      expect(await db.events.orderBy('position').toArray()).toEqual(before.events);
      expect(await db.outbox.orderBy('position').toArray()).toEqual(upgradedOutbox(version, before.outbox));
      expect(await db.meta.get('clientId')).toEqual({ key: 'clientId', value: CLIENT_ID });
      // A tried order waits for a known moment; one held back by a dead entry is left as it was.
      expect(await orderSummary(db, ORDER_ID)).toMatchObject({
        syncState: 'retrying',
        retryAt: RETRY_AT,
      });
      expect(await orderSummary(db, OTHER_ORDER_ID)).toMatchObject({
        syncState: 'attention',
        retryAt: null,
      });

      // Every event that was not delivered still has its row: the in-flight one waits to be sent again, the
      // dead one still needs the person; the delivered one reads as delivered by having none.
      // The old flusher's lease survives as it was; once its time passed, its entry reads pending again.
      expect(await db.leases.toArray()).toEqual(version >= 2 ? [OLD_LEASE] : []);
      const afterLease = liveLeases(await db.leases.toArray(), OLD_LEASE.until + 1);
      const views = outboxEntriesView(await db.outbox.toArray(), afterLease);
      const byEvent = new Map(views.map((entry) => [entry.eventId, entry] as const));
      expect(clientEvents.map((event) => deliveryStateOf(byEvent.get(event.eventId)))).toEqual([
        'delivered',
        'pending',
        'pending',
        'dead',
      ]);

      // The indexes the sync engine relies on work on the upgraded data.
      const pending = await db.outbox
        .where('[status+position]')
        .between(['pending', 0], ['pending', Infinity])
        .toArray();
      expect(pending.map((row) => row.eventId)).toEqual([clientEvents[1]?.eventId, clientEvents[2]?.eventId]);
      expect(await db.events.where('[streamId+version]').equals([STREAM, 2]).first()).toMatchObject({
        type: 'ProductAdded',
      });
      db.close();
    });
  }

  it('rebuilds the read models before the first read, as the page opens it (stream types loaded on demand)', async () => {
    const name = `outpost-migration-deferred-${Math.random().toString(36).slice(2)}`;
    names.push(name);
    await writeWithShippedSchema(3, name);
    // The page's own way in: layouts now, the stream types' code loaded by the rebuild the upgrade owes.
    const db = openAppDb({ name });
    // Folded from the events (the server's confirmation among them), not copied from the old summary.
    expect(await orderSummary(db, ORDER_ID)).toMatchObject({ status: 'confirmed', syncState: 'retrying' });
    expect(await db.meta.get('readModelsRebuildOwed')).toBeUndefined();
    db.close();
  });

  it('refuses nothing and loses nothing when the same database is opened twice in a row', async () => {
    const name = `outpost-migration-reopen-${Math.random().toString(36).slice(2)}`;
    names.push(name);
    const before = await writeWithShippedSchema(1, name);
    for (let i = 0; i < 2; i += 1) {
      const db = openTestDb({ name });
      expect(await db.events.count()).toBe(before.events.length);
      expect(await db.outbox.count()).toBe(upgradedOutbox(1, before.outbox).length);
      db.close();
    }
  });
});

describe('after the upgrade', () => {
  const server = setupServer();
  beforeAll(() => server.listen({ onUnhandledRequest: 'error' }));
  afterEach(() => server.resetHandlers());
  afterAll(() => server.close());

  for (const version of Object.keys(SHIPPED_SCHEMAS).map(Number)) {
    it(`delivers every entry a schema version ${version} database had not delivered, each once, in order`, async () => {
      const name = `outpost-migration-deliver-v${version}-${Math.random().toString(36).slice(2)}`;
      names.push(name);
      await writeWithShippedSchema(version, name);
      const db = openTestDb({ name });
      const clock = new ManualClock();
      const ids = uuidv7Generator(clock);
      const backend = createTestBackend({ clock, ids });
      server.use(...backend.handlers);
      const engine = createSyncEngine({
        storage: syncStorage(db),
        streamTypes: db.streamTypes,
        transport: (...args) => fetch(...args),
        clock,
        ids,
        clientId: CLIENT_ID,
        baseUrl: BASE_URL,
        bus: new EventBus(),
        random: () => 0.5,
      });
      // The first event went out before the upgrade: the server has it, as it had then.
      const [first, ...undelivered] = clientEvents.filter((event) => event.streamId === STREAM);
      if (!first) throw new Error('no first event');
      const { kind: _kind, occurredAt: _occurredAt, ...firstOnTheWire } = first;
      const firstPush = await fetch(`${BASE_URL}/push`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          protocol: 1,
          clientId: CLIENT_ID,
          batchId: '0193a000-0000-7000-8000-000000000501',
          events: [firstOnTheWire],
        }),
      });
      expect(await firstPush.json()).toMatchObject({ results: [{ status: 'accepted' }] });
      // The retried entry's next attempt was set before the upgrade: let that moment come (the old flusher's
      // lease has passed by then too).
      clock.advance(RETRY_AT - clock.now());

      const report = await engine.flush({ exclusive: true });
      expect(report).toMatchObject({ dead: 0 });
      // The dead entry waits for the person; once retried it goes too.
      const dead = await db.outbox.where('status').equals('dead').toArray();
      expect(dead.map((row) => row.eventId)).toEqual([clientEvents[3]?.eventId]);
      expect((await retryDeadLetter(db, clientEvents[3]?.eventId ?? '')).ok).toBe(true);
      await engine.flush({ force: true });

      expect(await db.outbox.count()).toBe(0);
      const stored = await backend.storage.read(
        async (reader) => (await reader.streams([STREAM])).get(STREAM)?.events ?? [],
      );
      expect(stored.map((event) => [event.eventId, event.version])).toEqual(
        [first, ...undelivered].map((event) => [event?.eventId, event?.version]),
      );
      const other = await backend.storage.read(
        async (reader) => (await reader.streams([OTHER_STREAM])).get(OTHER_STREAM)?.events ?? [],
      );
      expect(other.map((event) => event.eventId)).toEqual([clientEvents[3]?.eventId]);
      db.close();
    });
  }
});
