import { afterEach, describe, expect, it } from 'vitest';
import { OrderDomainError } from '../../../src/orders/domain/errors';
import { createCommandHandler } from '../../../src/outbox/client/command-handler';
import { type OutpostDb, openDb, type StoredEvent } from '../../../src/outbox/client/db';
import { StorageError } from '../../../src/outbox/client/errors';
import { EventBus } from '../../../src/outbox/client/event-bus';
import { createGroupCommitter, type GroupCommitFaults } from '../../../src/outbox/client/group-commit';
import { rebuildReadModels } from '../../../src/outbox/client/rebuild';
import { ManualClock, uuidv7Generator } from '../../../src/outbox/ids';
import { streamIdOf } from '../../../src/outbox/protocol/messages';
import { ValidationError } from '../../../src/outbox/validation';
import { add, create, dump, must } from './fixtures';

let db: OutpostDb | undefined;
afterEach(() => db?.close());

function makeGroupStore(faults?: GroupCommitFaults) {
  db = openDb({ name: `group-commit-${crypto.randomUUID()}` });
  const clock = new ManualClock();
  const ids = uuidv7Generator(clock);
  const bus = new EventBus();
  const published: StoredEvent[] = [];
  bus.events$.subscribe((event) => published.push(event));
  const deps = { db, clock, ids, clientId: ids(), bus, ...(faults ? { faults } : {}) };
  return { db, ids, published, deps, committer: createGroupCommitter(deps) };
}

describe('group commit', () => {
  it('commits commands issued together, each stream in arrival order, as if typed one by one', async () => {
    const { db, ids, committer, published } = makeGroupStore();
    const [a, b] = [ids(), ids()];
    const results = await Promise.all([
      committer.execute({ command: create(a) }),
      committer.execute({ command: create(b, 'Grace Hopper') }),
      committer.execute({ command: add(a, 'ESP-1', 2) }),
      committer.execute({ command: add(b, 'TEA-1', 1, 900) }),
      committer.execute({ command: add(a, 'ESP-1', 3) }),
      committer.execute({ command: { type: 'PlaceOrder', orderId: a } }),
    ]);

    expect(results.every((result) => result.ok)).toBe(true);
    const stream = await db.events.where('streamId').equals(streamIdOf(a)).sortBy('position');
    expect(stream.map((event) => [event.type, event.kind === 'client' && event.version])).toEqual([
      ['OrderCreated', 1],
      ['ProductAdded', 2],
      ['ProductAdded', 3],
      ['OrderPlaced', 4],
    ]);
    // The placement saw both additions made earlier in the same group.
    expect(stream[3]).toMatchObject({ data: { total: 5 * 250, lineCount: 1 } });
    expect(await db.orderSummaries.get(a)).toMatchObject({ status: 'placed', total: 1250, version: 4 });
    expect(await db.orderSummaries.get(b)).toMatchObject({ status: 'draft', total: 900, version: 2 });
    expect(await db.outbox.count()).toBe(6);
    expect(published).toHaveLength(6);
  });

  it('leaves a failing command out with its own error while the rest of its group commits', async () => {
    const broken = new Set<string>();
    const { db, ids, committer, published } = makeGroupStore({
      whileWriting: (commandId) => {
        if (broken.has(commandId)) throw new Error('disk hiccup while writing this command');
      },
    });
    const [a, b] = [ids(), ids()];
    const faultyId = ids();
    broken.add(faultyId);
    const results = await Promise.all([
      committer.execute({ command: create(a) }),
      committer.execute({ command: add(a, 'ESP-1', 0) }),
      committer.execute({ command: { type: 'PlaceOrder', orderId: b } }),
      committer.execute({ command: create(b, 'Grace Hopper'), commandId: faultyId }),
      committer.execute({ command: add(a, 'ESP-1', 2) }),
    ]);

    const [created, invalid, refused, faulty, added] = results;
    expect(created?.ok).toBe(true);
    expect(invalid?.ok === false && invalid.error).toBeInstanceOf(ValidationError);
    expect(refused?.ok === false && refused.error).toBeInstanceOf(OrderDomainError);
    expect(faulty?.ok === false && faulty.error).toBeInstanceOf(StorageError);
    expect(added?.ok).toBe(true);

    // Only the two accepted commands are stored, with contiguous versions and complete read models.
    const events = await db.events.orderBy('position').toArray();
    expect(events.map((event) => [event.streamId, event.type])).toEqual([
      [streamIdOf(a), 'OrderCreated'],
      [streamIdOf(a), 'ProductAdded'],
    ]);
    expect(await db.events.where('streamId').equals(streamIdOf(b)).count()).toBe(0);
    expect(await db.commands.get(faultyId)).toBeUndefined();
    expect(await db.orderSummaries.get(b)).toBeUndefined();
    expect((await db.outbox.toArray()).map((row) => row.eventId)).toEqual(
      events.map((event) => event.eventId),
    );
    // Subscribers heard exactly the committed events, never the rolled-back attempt.
    expect(published.map((event) => event.eventId)).toEqual(events.map((event) => event.eventId));
  });

  it('answers a commandId seen before with the first result and writes nothing more', async () => {
    const { db, ids, committer, deps } = makeGroupStore();
    const orderId = ids();
    const commandId = ids();
    const first = await must(committer.execute({ command: create(orderId), commandId }));
    const [again, sameGroupOther] = await Promise.all([
      committer.execute({ command: create(orderId), commandId }),
      committer.execute({ command: add(orderId, 'A-1', 1), commandId: ids() }),
    ]);
    expect(again).toEqual({ ok: true, value: { ...first, duplicate: true } });
    expect(sameGroupOther.ok).toBe(true);

    const repeated = ids();
    const pair = await Promise.all([
      committer.execute({ command: add(orderId, 'B-1', 1), commandId: repeated }),
      committer.execute({ command: add(orderId, 'B-1', 1), commandId: repeated }),
    ]);
    expect(pair[1]).toMatchObject({ ok: true, value: { duplicate: true, version: 3 } });
    expect(await db.events.count()).toBe(3);
    // The single-command handler knows the group's commands too: one idempotency table for both paths.
    const { faults: _none, ...handlerDeps } = deps;
    const handler = createCommandHandler(handlerDeps);
    expect(
      await must(handler.execute({ command: add(orderId, 'B-1', 1), commandId: repeated })),
    ).toMatchObject({
      duplicate: true,
      version: 3,
    });
  });

  it('writes read models a rebuild reproduces exactly', async () => {
    const { db, ids, committer } = makeGroupStore();
    const orders = [ids(), ids(), ids()];
    await Promise.all(
      orders.flatMap((orderId, n) => [
        committer.execute({ command: create(orderId, `Customer ${n}`) }),
        committer.execute({ command: add(orderId, 'X-1', n + 1) }),
        committer.execute({ command: { type: 'ChangeQuantity', orderId, sku: 'X-1', quantity: 9 } }),
      ]),
    );
    const inline = await dump(db);
    await rebuildReadModels(db);
    expect(await dump(db)).toEqual(inline);
  });
});
