import { afterEach, describe, expect, it } from 'vitest';
import type { OrderSummary } from '../../../src/orders/read-models';
import type { GroupDecision } from '../../../src/outbox/device/commands/append-commands';
import type { OutboxStorage } from '../../../src/outbox/device/outbox-storage';
import { initialAccount } from '../../../src/outbox/device/sync/account';
import type { ClaimOptions } from '../../../src/outbox/device/sync/outbox-store';
import { jsonBytes, toWireEvent } from '../../../src/outbox/device/sync/outbox-store';
import { defaultRetryPolicy, type RetryPolicy } from '../../../src/outbox/device/sync/retry-policy';
import { initialSyncMeta } from '../../../src/outbox/device/sync/sync-meta';
import type { OutpostDb } from '../../../src/outbox/page/database';
import { readModelTable } from '../../../src/outbox/page/database';
import type { WireServerEvent } from '../../../src/outbox/protocol/messages';
import type { CommandRow, LeaseRow, OutboxRow, StoredClientEvent } from '../../../src/outbox/storage/rows';

/**
 * The contract of the storage port (`OutboxStorage`): what each operation reads, decides and writes, and that
 * it does all of it in one transaction or nothing. Run once per implementation (`outbox-storage.test.ts`):
 * the pages' Dexie database and the worker's plain IndexedDB one. Each case seeds and inspects through the
 * page's Dexie view of the same database (`page`), so only the operations under test run on the
 * implementation under test.
 */

export interface StorageUnderTest {
  readonly storage: OutboxStorage;
  /** The same database as a page's Dexie sees it: for seeding rows and looking at them. */
  readonly page: OutpostDb;
  close(): void;
}

/** A fresh, empty database (created by a page, as the worker requires) and the storage under test on it. */
export type StorageFactory = () => Promise<StorageUnderTest>;

const ORDER_A = '0193a000-0000-7000-8000-00000000000a';
const ORDER_B = '0193a000-0000-7000-8000-00000000000b';
const ORDER_C = '0193a000-0000-7000-8000-00000000000c';
const ORDER_D = '0193a000-0000-7000-8000-00000000000d';
const A = `order-${ORDER_A}`;
const B = `order-${ORDER_B}`;
const C = `order-${ORDER_C}`;
const D = `order-${ORDER_D}`;
const orderIdOf = (streamId: string) => streamId.slice('order-'.length);
const AT = '2026-11-26T12:00:00.000Z';
const NOW = 1_000_000;

/** Version 1 creates the order, every later version adds a product (`name` sizes the event). */
function clientEvent(streamId: string, version: number, name = `Product ${version}`): StoredClientEvent {
  const metadata = {
    commandId: `cmd-${streamId}-${version}`,
    correlationId: `cmd-${streamId}-${version}`,
    causationId: null,
    occurredAt: AT,
    clientId: 'contract-client',
  };
  const base = { kind: 'client', eventId: `${streamId}-v${version}`, streamId, version, schemaVersion: 1 };
  return version === 1
    ? {
        ...base,
        kind: 'client',
        type: 'OrderCreated',
        data: { orderId: orderIdOf(streamId), customerName: 'Ada Lovelace', currency: 'EUR' },
        metadata,
        occurredAt: AT,
      }
    : {
        ...base,
        kind: 'client',
        type: 'ProductAdded',
        data: { sku: `SKU-${version}`, name, quantity: 1, unitPrice: 250 },
        metadata,
        occurredAt: AT,
      };
}

const confirmation = (streamId: string, serverSeq: number): WireServerEvent => ({
  eventId: `${streamId}-confirmed`,
  streamId,
  serverSeq,
  occurredAt: AT,
  type: 'OrderConfirmed',
  data: { orderNumber: `SO-${String(serverSeq).padStart(6, '0')}`, confirmedAt: AT },
});

/** A decision that appends exactly these events (and command rows), as the pipeline's would. */
function appending(
  events: readonly StoredClientEvent[],
  commands: readonly CommandRow[] = [],
): GroupDecision<null> {
  return { events, commands, createdAt: NOW, earlierEventIds: [], plan: null };
}

/** Appends events one group each, in this order: their positions interleave the streams as listed. */
async function appendEach(storage: OutboxStorage, events: readonly StoredClientEvent[]): Promise<void> {
  for (const event of events) {
    await storage.appendCommands({
      streamIds: [event.streamId],
      commandIds: [],
      decide: () => appending([event]),
    });
  }
}

const claimOptions = (overrides: Partial<ClaimOptions> = {}): ClaimOptions => ({
  ownerId: 'flusher-1',
  batchId: 'batch-1',
  now: NOW,
  policy: defaultRetryPolicy,
  limit: 100,
  byteBudget: 1_000_000,
  exclude: new Set(),
  ignoreBackoff: false,
  ...overrides,
});

const eventIdsOf = (rows: readonly { readonly row: OutboxRow }[]) => rows.map((entry) => entry.row.eventId);

async function rows(page: OutpostDb): Promise<OutboxRow[]> {
  return page.outbox.orderBy('position').toArray();
}

async function row(page: OutpostDb, eventId: string): Promise<OutboxRow> {
  const found = await page.outbox.get(eventId);
  if (!found) throw new Error(`no outbox row ${eventId}`);
  return found;
}

/** Rewrites stored rows as an earlier answer would have left them. */
async function setRows(page: OutpostDb, changes: Record<string, Partial<OutboxRow>>): Promise<void> {
  for (const [eventId, change] of Object.entries(changes)) {
    await page.outbox.put({ ...(await row(page, eventId)), ...change });
  }
}

/** Everything a storage operation could change, to prove a refused one changed nothing. */
async function everything(page: OutpostDb): Promise<Record<string, unknown[]>> {
  const names = page.tables.map((table) => table.name);
  const all = await Promise.all(names.map((name) => page.table(name).toArray()));
  return Object.fromEntries(names.map((name, index) => [name, all[index] ?? []]));
}

const orderRow = (page: OutpostDb, streamId: string) =>
  readModelTable<OrderSummary>(page, 'orders').get(orderIdOf(streamId));

export function describeOutboxStorageContract(name: string, factory: StorageFactory): void {
  describe(`OutboxStorage contract: ${name}`, () => {
    const opened: StorageUnderTest[] = [];
    afterEach(() => {
      for (const under of opened.splice(0)) under.close();
    });
    const fresh = async () => {
      const under = await factory();
      opened.push(under);
      return under;
    };

    describe('client id and sync facts', () => {
      it('makes the clientId once and keeps it, even when two ask at the same moment', async () => {
        const { storage } = await fresh();
        const first = '0193a000-0000-7000-8000-0000000000f1';
        const second = '0193a000-0000-7000-8000-0000000000f2';
        const [a, b] = await Promise.all([storage.clientId(() => first), storage.clientId(() => second)]);
        expect(a).toBe(b);
        expect([first, second]).toContain(a);
        expect(await storage.clientId(() => '0193a000-0000-7000-8000-0000000000f3')).toBe(a);
      });

      it('reads the initial facts, patches them (a function sees the stored ones) and keeps the cursor apart', async () => {
        const { storage } = await fresh();
        expect(await storage.readSyncMeta()).toEqual(initialSyncMeta);
        await storage.patchSyncMeta({ lastError: 'refused', pullFailures: 2 });
        const patched = await storage.patchSyncMeta((current) => ({
          pullFailures: current.pullFailures + 1,
        }));
        expect(patched).toEqual({ ...initialSyncMeta, lastError: 'refused', pullFailures: 3 });
        expect(await storage.readSyncMeta()).toEqual(patched);
        expect(await storage.readPullCursor()).toBeNull();
      });
    });

    describe('appendCommands', () => {
      it("appends a group's events with outbox rows, command rows, snapshots, read models and delivery facts", async () => {
        const { storage, page } = await fresh();
        const events = [clientEvent(A, 1), clientEvent(A, 2), clientEvent(B, 1)];
        const command: CommandRow = {
          commandId: 'cmd-1',
          streamId: A,
          eventIds: [events[0]?.eventId ?? '', events[1]?.eventId ?? ''],
          version: 2,
          handledAt: NOW,
        };
        const appended = await storage.appendCommands({
          streamIds: [A, B],
          commandIds: ['cmd-1'],
          decide(stored) {
            expect([...stored.streams]).toEqual([
              [A, undefined],
              [B, undefined],
            ]);
            expect(stored.handled.size).toBe(0);
            return appending(events, [command]);
          },
        });

        expect(appended.events.map((event) => event.position)).toEqual([1, 2, 3]);
        expect(appended.committed.map((stream) => [stream.streamId, stream.stream.version])).toEqual([
          [A, 2],
          [B, 1],
        ]);
        expect((await page.events.orderBy('position').toArray()).map((event) => event.eventId)).toEqual(
          events.map((event) => event.eventId),
        );
        expect(await rows(page)).toEqual(
          appended.events.map((event) => ({
            eventId: event.eventId,
            position: event.position,
            streamId: event.streamId,
            version: event.version,
            type: event.type,
            status: 'pending',
            attempts: 0,
            nextAttemptAt: 0,
            lastError: null,
            deadCode: null,
            createdAt: NOW,
            // Nobody signed in: the next person who signs in sends them (sync/account.ts).
            writtenBy: null,
          })),
        );
        expect(await page.commands.toArray()).toEqual([command]);
        expect((await page.streams.get(A))?.version).toBe(2);
        expect(await orderRow(page, A)).toMatchObject({ customerName: 'Ada Lovelace', lineCount: 1 });
        expect(await page.deliveries.get(A)).toMatchObject({ state: 'local', version: 2 });
      });

      it('lets the decision see what is stored, and answers repeats with their first events', async () => {
        const { storage, page } = await fresh();
        const first = [clientEvent(A, 1), clientEvent(A, 2)];
        const handled: CommandRow = {
          commandId: 'cmd-1',
          streamId: A,
          eventIds: first.map((event) => event.eventId),
          version: 2,
          handledAt: NOW,
        };
        await storage.appendCommands({
          streamIds: [A],
          commandIds: [],
          decide: () => appending(first, [handled]),
        });
        // A stream with events but no snapshot, as a database from before snapshots has them.
        await page.events.add(clientEvent(B, 1));

        const second = await storage.appendCommands({
          streamIds: [A, B],
          commandIds: ['cmd-1'],
          decide(stored) {
            expect(stored.streams.get(A)?.version).toBe(2);
            expect(stored.streams.get(B)).toBeUndefined();
            expect(stored.unsnapshotted.get(B)?.map((event) => event.eventId)).toEqual([`${B}-v1`]);
            expect(stored.handled.get('cmd-1')).toEqual(handled);
            return { ...appending([clientEvent(A, 3)]), earlierEventIds: handled.eventIds };
          },
        });
        expect(second.earlier.map((event) => event.eventId).sort()).toEqual([...handled.eventIds].sort());
        expect(second.events.map((event) => event.position)).toEqual([4]);
      });

      it('writes nothing when the decision throws, a fault strikes while writing, or an eventId is taken', async () => {
        const { storage, page } = await fresh();
        await appendEach(storage, [clientEvent(A, 1)]);
        const before = await everything(page);
        const refused = new Error('refused');
        await expect(
          storage.appendCommands({
            streamIds: [A],
            commandIds: [],
            decide: () => {
              throw refused;
            },
          }),
        ).rejects.toBe(refused);
        await expect(
          storage.appendCommands({
            streamIds: [A],
            commandIds: [],
            decide: () => ({
              ...appending(
                [clientEvent(A, 2)],
                [{ commandId: 'c', streamId: A, eventIds: [`${A}-v2`], version: 2, handledAt: NOW }],
              ),
              whileWriting: () => {
                throw refused;
              },
            }),
          }),
        ).rejects.toBe(refused);
        // The event store's eventId is unique: the second add of the same event fails the whole group.
        await expect(
          storage.appendCommands({
            streamIds: [A, B],
            commandIds: [],
            decide: () => appending([clientEvent(B, 1), { ...clientEvent(A, 2), eventId: `${A}-v1` }]),
          }),
        ).rejects.toBeDefined();
        expect(await everything(page)).toEqual(before);
      });
    });

    describe('claimBatch', () => {
      it('leases lane heads and their successors in position order with one record, rows untouched', async () => {
        const { storage, page } = await fresh();
        await appendEach(storage, [
          clientEvent(A, 1),
          clientEvent(B, 1),
          clientEvent(A, 2),
          clientEvent(A, 3),
        ]);
        const before = await rows(page);
        const events = await page.events.orderBy('position').toArray();

        const claim = await storage.claimBatch(claimOptions());

        expect(claim.batchId).toBe('batch-1');
        expect(eventIdsOf(claim.entries)).toEqual([`${A}-v1`, `${B}-v1`, `${A}-v2`, `${A}-v3`]);
        expect(claim.entries.map((entry) => entry.row)).toEqual(before);
        const wire = events.map((event) => toWireEvent(event as StoredClientEvent));
        expect(claim.entries.map((entry) => entry.event)).toEqual(wire);
        expect(claim.entries.map((entry) => entry.bytes)).toEqual(wire.map((event) => jsonBytes(event) + 1));
        expect(await page.leases.toArray()).toEqual([
          {
            batchId: 'batch-1',
            ownerId: 'flusher-1',
            until: NOW + defaultRetryPolicy.leaseMs,
            eventIds: [`${A}-v1`, `${B}-v1`, `${A}-v2`, `${A}-v3`],
            streamIds: [A, B],
          },
        ]);
        expect(await rows(page)).toEqual(before);
        expect(claim).toMatchObject({ earliestWaitingAt: null, leaseExpiresAt: null, scanFrom: 1 });
        // Nobody else may take a row while the lease is live.
        const other = await storage.claimBatch(claimOptions({ ownerId: 'flusher-2', batchId: 'batch-2' }));
        expect(other.entries).toEqual([]);
        expect(other.leaseExpiresAt).toBe(NOW + defaultRetryPolicy.leaseMs);
      });

      it('skips a lane behind a dead entry, waiting on its backoff or sent by this flush, and takes the others', async () => {
        const { storage, page } = await fresh();
        await appendEach(storage, [
          clientEvent(A, 1),
          clientEvent(A, 2),
          clientEvent(B, 1),
          clientEvent(C, 1),
          clientEvent(D, 1),
          clientEvent(D, 2),
        ]);
        await setRows(page, {
          [`${A}-v1`]: { status: 'dead', deadCode: 'rejected:invalid', attempts: 1 },
          [`${B}-v1`]: { attempts: 1, nextAttemptAt: NOW + 5_000 },
        });

        const claim = await storage.claimBatch(claimOptions({ exclude: new Set([`${C}-v1`]) }));
        expect(eventIdsOf(claim.entries)).toEqual([`${D}-v1`, `${D}-v2`]);
        // The lane sent by this flush is due again at once (for the next flush), before B's backoff.
        expect(claim.earliestWaitingAt).toBe(NOW);
        expect(claim.scanFrom).toBe(1);

        const forced = await storage.claimBatch(claimOptions({ batchId: 'batch-2', ignoreBackoff: true }));
        expect(eventIdsOf(forced.entries)).toEqual([`${B}-v1`, `${C}-v1`]);
      });

      it("holds another flusher's live lease and its successors; an expired one is deleted and its rows go", async () => {
        const { storage, page } = await fresh();
        await appendEach(storage, [clientEvent(A, 1), clientEvent(A, 2), clientEvent(B, 1)]);
        const lease: LeaseRow = {
          batchId: 'theirs',
          ownerId: 'flusher-2',
          until: NOW + 1_000,
          eventIds: [`${A}-v1`],
          streamIds: [A],
        };
        await page.leases.add(lease);

        const held = await storage.claimBatch(claimOptions());
        expect(eventIdsOf(held.entries)).toEqual([`${B}-v1`]);
        expect(held.leaseExpiresAt).toBe(NOW + 1_000);
        expect((await page.leases.get('theirs'))?.until).toBe(NOW + 1_000);

        const later = await storage.claimBatch(claimOptions({ batchId: 'batch-2', now: NOW + 1_000 }));
        expect(eventIdsOf(later.entries)).toEqual([`${A}-v1`, `${A}-v2`]);
        // Only batch-1 is live now (its own flusher would have deleted it with its answer).
        expect(later.leaseExpiresAt).toBe(NOW + defaultRetryPolicy.leaseMs);
        expect((await page.leases.toArray()).map((record) => record.batchId).sort()).toEqual([
          'batch-1',
          'batch-2',
        ]);
      });

      it('takes every lease back at once for a flusher holding the flush lock', async () => {
        const { storage, page } = await fresh();
        await appendEach(storage, [clientEvent(A, 1)]);
        await page.leases.add({ batchId: 'dead', ownerId: 'x', until: NOW + 60_000, eventIds: [`${A}-v1`] });
        const claim = await storage.claimBatch(claimOptions({ reclaimLeases: true }));
        expect(eventIdsOf(claim.entries)).toEqual([`${A}-v1`]);
        expect((await page.leases.toArray()).map((record) => record.batchId)).toEqual(['batch-1']);
      });

      it('stops at the limit and the byte budget; the first entry always goes and a cut stream stays cut', async () => {
        const { storage, page } = await fresh();
        await appendEach(storage, [
          clientEvent(A, 1),
          clientEvent(A, 2, 'x'.repeat(2_000)),
          clientEvent(B, 1),
          clientEvent(A, 3),
        ]);
        const [a1, a2, b1] = (await page.events.orderBy('position').toArray()).map(
          (event) => jsonBytes(toWireEvent(event as StoredClientEvent)) + 1,
        );

        const limited = await storage.claimBatch(claimOptions({ limit: 2 }));
        expect(eventIdsOf(limited.entries)).toEqual([`${A}-v1`, `${A}-v2`]);
        await page.leases.clear();

        const tiny = await storage.claimBatch(claimOptions({ batchId: 'batch-2', byteBudget: 10 }));
        expect(eventIdsOf(tiny.entries)).toEqual([`${A}-v1`]);
        await page.leases.clear();

        const budget = (a1 ?? 0) + (b1 ?? 0) + 10;
        expect(budget).toBeLessThan((a1 ?? 0) + (a2 ?? 0));
        const cut = await storage.claimBatch(claimOptions({ batchId: 'batch-3', byteBudget: budget }));
        expect(eventIdsOf(cut.entries)).toEqual([`${A}-v1`, `${B}-v1`]);
      });

      it('turns a row whose event is missing into a dead letter, and its stream shows it', async () => {
        const { storage, page } = await fresh();
        await appendEach(storage, [clientEvent(A, 1), clientEvent(B, 1)]);
        await page.events.delete(1);

        const claim = await storage.claimBatch(claimOptions());
        expect(eventIdsOf(claim.entries)).toEqual([`${B}-v1`]);
        expect(await row(page, `${A}-v1`)).toMatchObject({ status: 'dead', deadCode: 'missing_event' });
        expect(await page.deliveries.get(A)).toMatchObject({ state: 'attention' });
      });

      it('reads past a page of held rows to find an eligible one', async () => {
        const { storage, page } = await fresh();
        const held = Array.from({ length: 70 }, (_, index) => clientEvent(A, index + 1));
        await storage.appendCommands({ streamIds: [A], commandIds: [], decide: () => appending(held) });
        await appendEach(storage, [clientEvent(B, 1)]);
        await setRows(page, { [`${A}-v1`]: { status: 'dead', deadCode: 'bad_request' } });

        const claim = await storage.claimBatch(claimOptions({ limit: 1 }));
        expect(eventIdsOf(claim.entries)).toEqual([`${B}-v1`]);
      });

      it('stores when a waiting lane is due, and where the next scan may start', async () => {
        const { storage, page } = await fresh();
        await appendEach(storage, [clientEvent(A, 1), clientEvent(B, 1)]);
        await setRows(page, { [`${B}-v1`]: { attempts: 1, nextAttemptAt: NOW + 7_000 } });
        await page.outbox.delete(`${A}-v1`);

        const waiting = await storage.claimBatch(claimOptions());
        expect(waiting).toMatchObject({ entries: [], earliestWaitingAt: NOW + 7_000, scanFrom: 2 });
        expect((await storage.readSyncMeta()).retryAt).toBe(NOW + 7_000);
        expect(await page.leases.count()).toBe(0);

        await page.outbox.clear();
        const empty = await storage.claimBatch(claimOptions());
        // Nothing pending or dead: the next row can only come after the last stored event.
        expect(empty).toMatchObject({ entries: [], earliestWaitingAt: null, scanFrom: 3 });
        expect((await storage.readSyncMeta()).retryAt).toBeNull();
      });
    });

    describe('applyAnswer', () => {
      it('records an all-delivered answer: rows and lease gone, server events stored and projected, facts written', async () => {
        const { storage, page } = await fresh();
        await appendEach(storage, [clientEvent(A, 1), clientEvent(A, 2)]);
        const claim = await storage.claimBatch(claimOptions());

        const { applied, claim: next } = await storage.applyAnswer(
          {
            ownerId: 'flusher-1',
            batchId: claim.batchId,
            now: NOW,
            policy: defaultRetryPolicy,
            random: () => 0.5,
            entries: claim.entries,
            verdicts: claim.entries.map(() => ({ kind: 'delivered' }) as const),
            serverEvents: [confirmation(A, 42)],
            meta: { lastSuccessAt: NOW, pullOwed: true },
          },
          null,
        );

        expect(next).toBeNull();
        expect(applied).toMatchObject({ delivered: 2, dead: 0, retrying: 0, nextAttemptAt: null });
        expect(applied.stored.map((event) => [event.eventId, event.position])).toEqual([
          [`${A}-confirmed`, 3],
        ]);
        expect(await rows(page)).toEqual([]);
        expect(await page.leases.count()).toBe(0);
        expect(await orderRow(page, A)).toMatchObject({ status: 'confirmed', orderNumber: 'SO-000042' });
        expect(await page.deliveries.get(A)).toMatchObject({ state: 'delivered' });
        expect(await storage.readSyncMeta()).toMatchObject({ lastSuccessAt: NOW, pullOwed: true });
      });

      it('settles a mixed answer: dead, back to pending with a backoff, released; a failed request gates all', async () => {
        const { storage, page } = await fresh();
        await appendEach(storage, [clientEvent(A, 1), clientEvent(B, 1), clientEvent(C, 1)]);
        const claim = await storage.claimBatch(claimOptions());

        const { applied } = await storage.applyAnswer(
          {
            ownerId: 'flusher-1',
            batchId: claim.batchId,
            now: NOW,
            policy: defaultRetryPolicy,
            random: () => 0.5,
            entries: claim.entries,
            verdicts: [
              { kind: 'dead', deadCode: 'rejected:invalid', lastError: 'No such product' },
              { kind: 'retry', lastError: 'retry: gap', retryAfterMs: null },
              { kind: 'release' },
            ],
            serverEvents: [],
            meta: { lastError: 'mixed' },
            gate: true,
          },
          null,
        );

        // One draw for the answer: half of the first backoff ceiling.
        const retryAt = NOW + defaultRetryPolicy.baseDelayMs / 2;
        expect(applied).toMatchObject({ delivered: 0, dead: 1, retrying: 1, nextAttemptAt: retryAt });
        expect(await row(page, `${A}-v1`)).toMatchObject({
          status: 'dead',
          attempts: 1,
          deadCode: 'rejected:invalid',
          lastError: 'No such product',
        });
        expect(await row(page, `${B}-v1`)).toMatchObject({
          status: 'pending',
          attempts: 1,
          nextAttemptAt: retryAt,
          lastError: 'retry: gap',
        });
        expect(await row(page, `${C}-v1`)).toMatchObject({
          status: 'pending',
          attempts: 0,
          nextAttemptAt: 0,
        });
        expect(await page.leases.count()).toBe(0);
        expect((await page.deliveries.bulkGet([A, B, C])).map((delivery) => delivery?.state)).toEqual([
          'attention',
          'retrying',
          'local',
        ]);
        expect(await storage.readSyncMeta()).toMatchObject({
          lastError: 'mixed',
          nextAttemptAt: retryAt,
          retryAt,
        });
      });

      it("gives up on an entry past the policy's attempts", async () => {
        const { storage, page } = await fresh();
        await appendEach(storage, [clientEvent(A, 1)]);
        const policy: RetryPolicy = { ...defaultRetryPolicy, maxAttempts: 1 };
        const claim = await storage.claimBatch(claimOptions({ policy }));
        await storage.applyAnswer(
          {
            ownerId: 'flusher-1',
            batchId: claim.batchId,
            now: NOW,
            policy,
            random: () => 0.5,
            entries: claim.entries,
            verdicts: [{ kind: 'retry', lastError: 'retry: busy', retryAfterMs: null }],
            serverEvents: [],
            meta: {},
          },
          null,
        );
        expect(await row(page, `${A}-v1`)).toMatchObject({
          status: 'dead',
          deadCode: 'max_attempts',
          attempts: 1,
        });
      });

      it('leaves rows another flusher took over to it, but records a delivery whoever holds the row', async () => {
        const { storage, page } = await fresh();
        await appendEach(storage, [clientEvent(A, 1), clientEvent(B, 1)]);
        const mine = await storage.claimBatch(claimOptions());
        const later = NOW + defaultRetryPolicy.leaseMs;
        const theirs = await storage.claimBatch(
          claimOptions({ ownerId: 'flusher-2', batchId: 'batch-2', now: later }),
        );
        expect(eventIdsOf(theirs.entries)).toEqual([`${A}-v1`, `${B}-v1`]);

        const { applied } = await storage.applyAnswer(
          {
            ownerId: 'flusher-1',
            batchId: mine.batchId,
            now: later,
            policy: defaultRetryPolicy,
            random: () => 0.5,
            entries: mine.entries,
            verdicts: [{ kind: 'delivered' }, { kind: 'retry', lastError: 'retry: gap', retryAfterMs: null }],
            serverEvents: [],
            meta: {},
          },
          null,
        );
        expect(applied).toMatchObject({ delivered: 1, retrying: 0 });
        expect(await rows(page)).toEqual([theirs.entries[1]?.row]);
        expect((await page.leases.toArray()).map((lease) => lease.batchId)).toEqual(['batch-2']);
      });

      it("claims the next batch in the answer's transaction", async () => {
        const { storage, page } = await fresh();
        await appendEach(storage, [clientEvent(A, 1), clientEvent(B, 1)]);
        const claim = await storage.claimBatch(claimOptions({ limit: 1 }));
        const { claim: next } = await storage.applyAnswer(
          {
            ownerId: 'flusher-1',
            batchId: claim.batchId,
            now: NOW,
            policy: defaultRetryPolicy,
            random: () => 0.5,
            entries: claim.entries,
            verdicts: [{ kind: 'delivered' }],
            serverEvents: [],
            meta: {},
          },
          claimOptions({ batchId: 'batch-2', limit: 1, exclude: new Set([`${A}-v1`]) }),
        );
        expect(eventIdsOf(next?.entries ?? [])).toEqual([`${B}-v1`]);
        expect((await page.leases.toArray()).map((lease) => lease.batchId)).toEqual(['batch-2']);
        expect((await rows(page)).map((entry) => entry.eventId)).toEqual([`${B}-v1`]);
      });

      it('commits the answer and the next claim together or not at all', async () => {
        const { storage, page } = await fresh();
        await appendEach(storage, [clientEvent(A, 1), clientEvent(B, 1), clientEvent(C, 1)]);
        const claim = await storage.claimBatch(claimOptions({ limit: 1 }));
        // The next claim names a lease that exists (another flusher's): adding it fails, and so does the answer.
        await page.leases.add({ batchId: 'taken', ownerId: 'x', until: NOW + 1_000, eventIds: [`${C}-v1`] });
        const before = await everything(page);
        await expect(
          storage.applyAnswer(
            {
              ownerId: 'flusher-1',
              batchId: claim.batchId,
              now: NOW,
              policy: defaultRetryPolicy,
              random: () => 0.5,
              entries: claim.entries,
              verdicts: [{ kind: 'delivered' }],
              serverEvents: [confirmation(A, 7)],
              meta: { pullOwed: true },
            },
            claimOptions({ batchId: 'taken', exclude: new Set([`${A}-v1`]) }),
          ),
        ).rejects.toBeDefined();
        expect(await everything(page)).toEqual(before);
      });
    });

    describe('storePullPage', () => {
      it('stores new server events once, projects them, and moves the cursor only from where it was read', async () => {
        const { storage, page } = await fresh();
        await appendEach(storage, [clientEvent(A, 1), clientEvent(B, 1)]);

        const first = await storage.storePullPage({
          since: null,
          cursor: 'c1',
          events: [confirmation(A, 1)],
        });
        expect(first.cursorMoved).toBe(true);
        expect(first.stored.map((event) => [event.eventId, event.position])).toEqual([[`${A}-confirmed`, 3]]);
        expect(await storage.readPullCursor()).toBe('c1');
        expect(await orderRow(page, A)).toMatchObject({ status: 'confirmed', orderNumber: 'SO-000001' });

        const again = await storage.storePullPage({
          since: 'c1',
          cursor: 'c2',
          events: [confirmation(A, 1)],
        });
        expect(again).toEqual({ stored: [], cursorMoved: true });
        expect(await page.events.count()).toBe(3);

        // Another context moved the cursor since this pull read it: the events are stored, the cursor stays.
        const stale = await storage.storePullPage({
          since: 'c1',
          cursor: 'c3',
          events: [confirmation(B, 2)],
        });
        expect(stale.cursorMoved).toBe(false);
        expect(stale.stored).toHaveLength(1);
        expect(await storage.readPullCursor()).toBe('c2');
        // Counter rows add each stored decision once: read, summed and written in the page's transaction.
        expect(await readModelTable(page, 'orderCounts').get('decided:confirmed')).toEqual({
          id: 'decided:confirmed',
          count: 2,
        });
      });

      it('does not store a decision of an archived stream: the stream left the device with it', async () => {
        const { storage, page } = await fresh();
        await appendEach(storage, [clientEvent(B, 1)]);
        await page.archive.put({
          streamId: A,
          version: 1,
          lastPosition: 7,
          updatedAt: AT,
          archivedAt: NOW,
        });
        const pulled = await storage.storePullPage({
          since: null,
          cursor: 'c1',
          events: [confirmation(A, 1), confirmation(B, 2)],
        });
        expect(pulled.stored.map((event) => event.streamId)).toEqual([B]);
        expect(pulled.cursorMoved).toBe(true);
        expect(await page.events.where('streamId').equals(A).count()).toBe(0);
        expect(await page.streams.get(A)).toBeUndefined();
        expect(await orderRow(page, A)).toBeUndefined();
      });
    });

    describe('readSyncFacts', () => {
      it('reads counts, the oldest undelivered entry and the leases that still hold rows, together', async () => {
        const { storage, page } = await fresh();
        await appendEach(storage, [clientEvent(A, 1), clientEvent(A, 2), clientEvent(B, 1)]);
        await setRows(page, {
          [`${A}-v1`]: { createdAt: 500 },
          [`${B}-v1`]: { status: 'dead', deadCode: 'bad_request' },
        });
        await page.leases.bulkAdd([
          { batchId: 'live', ownerId: 'x', until: NOW + 1, eventIds: [`${A}-v1`, `${B}-v1`] },
          { batchId: 'spent', ownerId: 'y', until: NOW - 1, eventIds: ['delivered-long-ago'] },
        ]);
        await storage.patchSyncMeta({ lastError: 'busy' });

        expect(await storage.readSyncFacts()).toEqual({
          undelivered: 2,
          dead: 1,
          oldestPendingAt: 500,
          leases: [{ until: NOW + 1, holding: 1 }],
          meta: { ...initialSyncMeta, lastError: 'busy' },
          parked: 0,
          account: initialAccount,
          unsentStreams: null,
          catchUp: null,
          vanished: null,
          unread: 0,
        });
      });
    });

    describe('dead letters', () => {
      it('lists them oldest first, and retries one with the dead ones after it in its stream', async () => {
        const { storage, page } = await fresh();
        await appendEach(storage, [clientEvent(A, 1), clientEvent(A, 2), clientEvent(B, 1)]);
        await setRows(page, {
          [`${A}-v1`]: { status: 'dead', attempts: 2, deadCode: 'rejected:invalid', lastError: 'No' },
          [`${A}-v2`]: { status: 'dead', attempts: 2, deadCode: 'bad_request', lastError: 'Bad' },
        });
        expect(await storage.listDeadLetters()).toEqual([
          {
            eventId: `${A}-v1`,
            streamId: A,
            streamType: 'order',
            id: ORDER_A,
            version: 1,
            type: 'OrderCreated',
            deadCode: 'rejected:invalid',
            lastError: 'No',
            attempts: 2,
            createdAt: NOW,
          },
          expect.objectContaining({ eventId: `${A}-v2`, deadCode: 'bad_request' }),
        ]);

        const before = await everything(page);
        const missing = await storage.retryDeadLetter(`${B}-v1`);
        expect(!missing.ok && missing.error.code).toBe('dead_letter_not_found');
        expect(await everything(page)).toEqual(before);

        const retried = await storage.retryDeadLetter(`${A}-v1`);
        expect(retried).toEqual({ ok: true, value: [`${A}-v1`, `${A}-v2`] });
        for (const eventId of [`${A}-v1`, `${A}-v2`]) {
          expect(await row(page, eventId)).toMatchObject({
            status: 'pending',
            attempts: 0,
            nextAttemptAt: 0,
            deadCode: null,
            lastError: null,
          });
        }
        expect(await page.deliveries.get(A)).toMatchObject({ state: 'local', blocked: null });
      });

      it('discards one and every later entry of its stream with a record each, not while one is in flight', async () => {
        const { storage, page } = await fresh();
        await appendEach(storage, [clientEvent(A, 1), clientEvent(A, 2), clientEvent(B, 1)]);
        await setRows(page, { [`${A}-v1`]: { status: 'dead', deadCode: 'rejected:invalid' } });
        await page.leases.add({ batchId: 'b', ownerId: 'x', until: NOW + 1_000, eventIds: [`${A}-v2`] });
        const order = {
          eventId: `${A}-v1`,
          reason: 'Customer changed their mind',
          now: NOW,
          newId: () => 'x',
        };

        const before = await everything(page);
        const busy = await storage.discardDeadLetter(order);
        expect(!busy.ok && busy.error.code).toBe('dead_letter_in_flight');
        expect(await everything(page)).toEqual(before);

        let n = 0;
        const discarded = await storage.discardDeadLetter({
          ...order,
          now: NOW + 1_000,
          newId: () => `discard-${++n}`,
        });
        if (!discarded.ok) throw discarded.error;
        expect(
          discarded.value.records.map((record) => [record.eventId, record.data.version, record.position]),
        ).toEqual([
          ['discard-1', 1, 4],
          ['discard-2', 2, 5],
        ]);
        expect((await rows(page)).map((entry) => entry.eventId)).toEqual([`${B}-v1`]);
        expect(await page.streams.get(A)).toMatchObject({
          discardedFromVersion: 1,
          discardedReason: 'Customer changed their mind',
        });
        expect((await page.deliveries.get(A))?.discarded).toEqual({
          fromVersion: 1,
          reason: 'Customer changed their mind',
        });
      });
    });

    describe('rebuildReadModels', () => {
      it('derives the read models, snapshots and delivery facts again, exactly as they were', async () => {
        const { storage, page } = await fresh();
        await appendEach(storage, [
          clientEvent(A, 1),
          clientEvent(B, 1),
          clientEvent(A, 2),
          clientEvent(B, 2),
        ]);
        await storage.storePullPage({ since: null, cursor: 'c1', events: [confirmation(A, 3)] });
        const claim = await storage.claimBatch(claimOptions({ limit: 1 }));
        await storage.applyAnswer(
          {
            ownerId: 'flusher-1',
            batchId: claim.batchId,
            now: NOW,
            policy: defaultRetryPolicy,
            random: () => 0.5,
            entries: claim.entries,
            verdicts: [{ kind: 'dead', deadCode: 'rejected:invalid', lastError: 'No' }],
            serverEvents: [],
            meta: {},
          },
          null,
        );
        const derived = ['streams', 'deliveries', 'orders', 'orderLines'];
        const snapshot = async () =>
          Object.fromEntries(
            await Promise.all(
              derived.map(async (table) => [table, await page.table(table).toArray()] as const),
            ),
          );
        const inline = await snapshot();
        expect((await page.deliveries.bulkGet([A, B])).map((delivery) => delivery?.state)).toEqual([
          'attention',
          'local',
        ]);

        await Promise.all(derived.map((table) => page.table(table).clear()));
        await storage.rebuildReadModels(2);
        expect(await snapshot()).toEqual(inline);
      });
    });
  });
}
