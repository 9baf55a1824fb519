import { afterEach, describe, expect, it } from 'vitest';
import { OrderDomainError } from '../../../src/orders/domain/errors';
import { importCommands } from '../../../src/outbox/client/bulk-import';
import type { CommandRequest } from '../../../src/outbox/client/command-handler';
import { type OutpostDb, openDb, type StoredEvent } from '../../../src/outbox/client/db';
import { EventBus } from '../../../src/outbox/client/event-bus';
import { rebuildReadModels } from '../../../src/outbox/client/rebuild';
import { ManualClock, uuidv7Generator } from '../../../src/outbox/ids';
import { streamIdOf } from '../../../src/outbox/protocol/messages';
import { ValidationError } from '../../../src/outbox/validation';
import { add, create, dump } from './fixtures';

let db: OutpostDb | undefined;
afterEach(() => db?.close());

function makeDeps() {
  db = openDb({ name: `bulk-import-${crypto.randomUUID()}` });
  const clock = new ManualClock();
  const ids = uuidv7Generator(clock);
  const bus = new EventBus();
  const published: StoredEvent[] = [];
  bus.events$.subscribe((event) => published.push(event));
  return { db, ids, published, deps: { db, clock, ids, clientId: ids(), bus } };
}

describe('bulk import', () => {
  it('answers every command in order and stores streams across chunk boundaries in order', async () => {
    const { db, ids, deps, published } = makeDeps();
    const orders = [ids(), ids(), ids(), ids()];
    const requests: CommandRequest[] = orders.flatMap((orderId, n) => [
      { command: create(orderId, `Customer ${n}`) },
      ...Array.from({ length: 6 }, (_, line) => ({ command: add(orderId, `SKU-${line}`, line + 1) })),
    ]);
    const progress: number[] = [];
    const results = await importCommands(deps, requests, {
      chunkSize: 5,
      onProgress: (done) => progress.push(done),
    });

    expect(results).toHaveLength(28);
    expect(results.every((result) => result.ok)).toBe(true);
    expect(progress).toEqual([5, 10, 15, 20, 25, 28]);
    for (const orderId of orders) {
      const versions = (await db.events.where('streamId').equals(streamIdOf(orderId)).sortBy('position')).map(
        (event) => event.kind === 'client' && event.version,
      );
      expect(versions).toEqual([1, 2, 3, 4, 5, 6, 7]);
      expect(await db.orderSummaries.get(orderId)).toMatchObject({ lineCount: 6, total: 21 * 250 });
    }
    expect(await db.outbox.count()).toBe(28);
    expect(published).toHaveLength(28);
    const inline = await dump(db);
    await rebuildReadModels(db);
    expect(await dump(db)).toEqual(inline);
  });

  it('refuses bad rows one by one and imports the rest', async () => {
    const { db, ids, deps } = makeDeps();
    const orderId = ids();
    const results = await importCommands(
      deps,
      [
        { command: create(orderId) },
        { command: add(orderId, 'lower case', 1) },
        { command: add(ids(), 'ESP-1', 1) },
        { command: add(orderId, 'ESP-1', 1) },
      ],
      { chunkSize: 2000 },
    );
    expect(results.map((result) => result.ok)).toEqual([true, false, false, true]);
    expect(results[1]?.ok === false && results[1].error).toBeInstanceOf(ValidationError);
    expect(results[2]?.ok === false && results[2].error).toBeInstanceOf(OrderDomainError);
    expect(await db.events.count()).toBe(2);
  });

  it('imports hundreds of new orders in one chunk, and a rebuild over them reproduces the read models', async () => {
    const { db, ids, deps } = makeDeps();
    const orders = Array.from({ length: 300 }, () => ids());
    const transactions: string[] = [];
    const open = db.transaction.bind(db) as (...args: unknown[]) => unknown;
    // Counts transactions: a chunk that falls back to one transaction per command still commits, only slowly.
    (db as unknown as { transaction: (...args: unknown[]) => unknown }).transaction = (...args) => {
      transactions.push(String(args[0]));
      return open(...args);
    };
    const results = await importCommands(
      deps,
      orders.map((orderId, n) => ({ command: create(orderId, `Customer ${n}`) })),
      { chunkSize: 2000 },
    );
    expect(results.every((result) => result.ok)).toBe(true);
    expect(transactions).toEqual(['rw']);
    expect(await db.orderSummaries.count()).toBe(300);

    // One rebuild page now touches 300 orders at once.
    const inline = await dump(db);
    await rebuildReadModels(db);
    expect(await dump(db)).toEqual(inline);
  });

  it('lets other tasks run between chunks', async () => {
    const { ids, deps } = makeDeps();
    const orderId = ids();
    const requests: CommandRequest[] = [
      { command: create(orderId) },
      ...Array.from({ length: 9 }, (_, line) => ({ command: add(orderId, `L-${line}`, 1) })),
    ];
    const seen: string[] = [];
    const timer = setInterval(() => seen.push('tick'), 0);
    await importCommands(deps, requests, { chunkSize: 2, onProgress: (done) => seen.push(`chunk ${done}`) });
    clearInterval(timer);
    // A timer task got the thread between the first and the last chunk.
    expect(seen.indexOf('tick')).toBeGreaterThan(-1);
    expect(seen.indexOf('tick')).toBeLessThan(seen.indexOf('chunk 10'));
  });
});
