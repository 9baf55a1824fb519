import Dexie, { liveQuery } from 'dexie';
import { firstValueFrom, from, type Observable, filter as rxFilter } from 'rxjs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { readOrderSummaries } from '../../../src/orders/page/order-summaries';
import { liveOrder } from '../../../src/orders/page/order-view';
import { streamIdOf } from '../../../src/orders/stream-ids';
import { toStorageError } from '../../../src/outbox/device/commands/errors';
import { getOrCreateClientId } from '../../../src/outbox/device/sync/client-id';
import { readDeliveryViews, readOutboxSections } from '../../../src/outbox/page/queries';
import { openTestDb } from '../../support/app-db';
import { add, create, deliverOutbox, leaseOutbox, makeStore, must, type Store } from './fixtures';

let store: Store;
afterEach(() => store?.db.close());

/** The first emission that satisfies `predicate`: live queries emit again after every relevant commit. */
const until = <T>(source: Observable<T>, predicate: (value: T) => boolean) =>
  firstValueFrom(source.pipe(rxFilter(predicate)));

describe('order summaries', () => {
  async function seed(s: Store) {
    const names = ['Ada Lovelace', 'Grace Hopper', 'Alan Turing', 'adele Goldberg'];
    const orderIds: string[] = [];
    for (const name of names) {
      const orderId = s.ids();
      orderIds.push(orderId);
      await must(s.handler.execute({ command: create(orderId, name) }));
      s.clock.advance(1000);
    }
    const [first] = orderIds as [string];
    await must(s.handler.execute({ command: add(first, 'ESP-1', 1) }));
    await must(s.handler.execute({ command: { type: 'PlaceOrder', orderId: first } }));
    return orderIds;
  }

  it('lists the newest first (a later change does not move an order), with a total for paging', async () => {
    store = makeStore();
    const [ada, grace, alan, adele] = (await seed(store)) as [string, string, string, string];
    const page = await readOrderSummaries(store.db, { offset: 1, limit: 2 }, store.clock.now());
    expect(page.total).toBe(4);
    expect(page.rows.map((row) => row.id)).toEqual([alan, grace]);
    const all = await readOrderSummaries(store.db, {}, store.clock.now());
    expect(all.rows.map((row) => row.id)).toEqual([adele, alan, grace, ada]);
  });

  it('filters by status and searches by the start of the customer name, ignoring case', async () => {
    store = makeStore();
    const [ada, , , adele] = (await seed(store)) as [string, string, string, string];
    const placed = await readOrderSummaries(store.db, { status: 'placed' }, store.clock.now());
    expect(placed).toMatchObject({ total: 1, rows: [{ id: ada }] });
    const search = await readOrderSummaries(store.db, { search: '  AD ' }, store.clock.now());
    expect(search.rows.map((row) => row.id).sort()).toEqual([ada, adele].sort());
    const draftsPaged = await readOrderSummaries(
      store.db,
      { status: 'draft', offset: 1, limit: 1 },
      store.clock.now(),
    );
    expect(draftsPaged.total).toBe(3);
    expect(draftsPaged.rows.map((row) => row.customerName)).toEqual(['Alan Turing']);
    const both = await readOrderSummaries(store.db, { search: 'ad', status: 'draft' }, store.clock.now());
    expect(both).toMatchObject({ total: 1, rows: [{ id: adele }] });
  });

  it('re-emits after a command commits', async () => {
    store = makeStore();
    // As the orders list reads it: the same query under a live query.
    const summaries$ = from(liveQuery(() => readOrderSummaries(store.db, { limit: 10 }, store.clock.now())));
    expect((await firstValueFrom(summaries$)).total).toBe(0);
    const orderId = store.ids();
    const seen = until(summaries$, (page) => page.total === 1);
    await must(store.handler.execute({ command: create(orderId) }));
    expect((await seen).rows[0]?.id).toBe(orderId);
  });
});

describe('order summaries: deliveries of the window', () => {
  const states = (page: { readonly rows: readonly { readonly delivery: { readonly state: string } }[] }) =>
    page.rows.map((row) => row.delivery.state).join(' ');
  const eventIdsOf = (s: Store, orderId: string) =>
    s.db.outbox.where('streamId').equals(streamIdOf(orderId)).primaryKeys();

  async function threeOrders(s: Store): Promise<[string, string, string]> {
    const orderIds: string[] = [];
    for (const name of ['Ada Lovelace', 'Grace Hopper', 'Alan Turing']) {
      const orderId = s.ids();
      orderIds.push(orderId);
      await must(s.handler.execute({ command: create(orderId, name) }));
      s.clock.advance(1000);
    }
    return orderIds as [string, string, string];
  }

  it('follow what the sync engine records for the first, the last and a middle order, while the list is live', async () => {
    store = makeStore();
    const [oldest, middle, newest] = await threeOrders(store);
    const summaries$ = from(liveQuery(() => readOrderSummaries(store.db, { limit: 10 }, store.clock.now())));
    // Newest first; the first and the last row are the ends of the key range the deliveries are read as.
    expect(states(await firstValueFrom(summaries$))).toBe('local local local');

    await deliverOutbox(store.db, await eventIdsOf(store, oldest));
    expect(states(await until(summaries$, (page) => states(page) !== 'local local local'))).toBe(
      'local local delivered',
    );
    await deliverOutbox(store.db, await eventIdsOf(store, newest));
    expect(states(await until(summaries$, (page) => states(page) !== 'local local delivered'))).toBe(
      'delivered local delivered',
    );
    await leaseOutbox(store.db, await eventIdsOf(store, middle), { batchId: 'batch-1' });
    expect(states(await until(summaries$, (page) => states(page) !== 'delivered local delivered'))).toBe(
      'delivered sending delivered',
    );
  });

  it('read as one key range give each stream asked for its own delivery, and none to a stream not asked for', async () => {
    store = makeStore();
    const [oldest, middle, newest] = await threeOrders(store);
    await deliverOutbox(store.db, await eventIdsOf(store, middle));
    await leaseOutbox(store.db, await eventIdsOf(store, newest), { batchId: 'batch-1' });
    // Out of order, skipping the middle one, and one stream with no delivery row at all.
    const asked = [newest, oldest, store.ids()].map(streamIdOf);
    const now = store.clock.now();
    const one = await readDeliveryViews(store.db, asked, now, { range: true });
    const each = await readDeliveryViews(store.db, asked, now);
    expect(one).toEqual(each);
    expect(one.deliveries.map((delivery) => [delivery.streamId, delivery.state])).toEqual([
      [streamIdOf(newest), 'sending'],
      [streamIdOf(oldest), 'local'],
      [asked[2], 'delivered'],
    ]);
  });
});

describe('order detail', () => {
  it('shows lines, events and the outbox rows of the order, live', async () => {
    store = makeStore();
    const orderId = store.ids();
    await must(store.handler.execute({ command: create(orderId) }));
    const detail$ = liveOrder(store.db, orderId, store.clock);
    const withLine = until(detail$, (view) => (view?.lines.length ?? 0) === 1);
    await must(store.handler.execute({ command: add(orderId, 'ESP-1', 2) }));
    const view = await withLine;
    expect(view?.summary.lineCount).toBe(1);
    expect(view?.events.map((event) => event.eventId)).toEqual(view?.outbox.map((row) => row.eventId));
    expect(view?.delivery).toMatchObject({ state: 'local', streamId: streamIdOf(orderId) });
    expect(await firstValueFrom(liveOrder(store.db, store.ids(), store.clock))).toBeNull();
  });
});

describe("order detail: the command's own result", () => {
  it('is in the view when the command resolves, with no second read, and a slower read never takes it back', async () => {
    store = makeStore();
    const orderId = store.ids();
    await must(store.handler.execute({ command: create(orderId) }));
    const seen: (number | null)[] = [];
    const subscription = liveOrder(store.db, orderId, store.clock).subscribe((view) => {
      seen.push(view ? view.summary.version : null);
    });
    await until(liveOrder(store.db, orderId, store.clock), (view) => view?.summary.version === 1);
    await vi.waitFor(() => expect(seen.at(-1)).toBe(1));

    await must(store.handler.execute({ command: add(orderId, 'ESP-1', 2) }));
    // The handler announced what it committed before resolving: no change notice or read has run yet.
    expect(seen.at(-1)).toBe(2);
    await must(store.handler.execute({ command: add(orderId, 'MILK-1', 1) }));
    expect(seen.at(-1)).toBe(3);

    // The live query's own reads follow; none of them may show an older version after a newer one.
    await new Promise((resolve) => setTimeout(resolve, 50));
    subscription.unsubscribe();
    const versions = seen.filter((version): version is number => version !== null);
    expect(versions).toEqual([...versions].sort((a, b) => a - b));
    expect(seen.at(-1)).toBe(3);
  });
});

describe('outbox', () => {
  it('lists undelivered rows in sending order and drops delivered ones, live, as the inspector shows them', async () => {
    store = makeStore();
    const orderId = store.ids();
    await must(store.handler.execute({ command: create(orderId) }));
    await must(store.handler.execute({ command: add(orderId, 'ESP-1', 2) }));
    const sections$ = from(liveQuery(() => readOutboxSections(store.db, 50, store.clock.now())));
    const rows = (await firstValueFrom(sections$)).pending.rows;
    expect(rows.map((row) => row.version)).toEqual([1, 2]);
    const afterDelivery = until(sections$, (next) => next.pending.count === 1);
    await deliverOutbox(store.db, [rows[0]?.eventId ?? '']);
    expect((await afterDelivery).pending.rows.map((row) => [row.streamId, row.version])).toEqual([
      [streamIdOf(orderId), 2],
    ]);
  });
});

describe('clientId', () => {
  it('is made once per database and kept across connections', async () => {
    store = makeStore();
    const first = await getOrCreateClientId(store.db, store.ids);
    expect(first).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7/);
    const again = openTestDb({ name: store.name });
    try {
      expect(await getOrCreateClientId(again, store.ids)).toBe(first);
    } finally {
      again.close();
    }
  });

  it('two tabs starting at once agree on one id', async () => {
    store = makeStore();
    const ids = await Promise.all([1, 2, 3].map(() => getOrCreateClientId(store.db, store.ids)));
    expect(new Set(ids).size).toBe(1);
  });
});

describe('toStorageError', () => {
  const quota = new DOMException('The quota has been exceeded.', 'QuotaExceededError');
  it.each([
    ['the DOMException itself', quota],
    ['wrapped by Dexie as AbortError', new Dexie.AbortError('Transaction aborted', quota)],
    ['as Dexie QuotaExceededError', new Dexie.QuotaExceededError('quota')],
    ['as a cause', new Error('write failed', { cause: quota })],
    ['inside a Dexie BulkError', new Dexie.BulkError('1 of 2 operations failed', { 1: quota })],
  ])('recognises a full disk %s', (_name, error) => {
    const storage = toStorageError(error);
    expect(storage.code).toBe('quota_exceeded');
    expect(storage.message).toMatch(/^This device is out of storage space: nothing was saved/);
  });

  it('calls anything else storage_failed and keeps the cause', () => {
    const cause = new Dexie.UnknownError('disk on fire');
    const storage = toStorageError(cause);
    expect(storage.code).toBe('storage_failed');
    expect(storage.message).toMatch(/nothing was saved: .*disk on fire/);
    expect(storage.cause).toBe(cause);
  });
});
