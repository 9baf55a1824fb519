import { afterEach, describe, expect, it } from 'vitest';
import { DomainError, ValidationError } from '../../src/outbox';
import { CommandIdReusedError, StorageError } from '../../src/outbox/device/commands/errors';
import { EventBus } from '../../src/outbox/device/event-bus';
import { rebuildReadModels } from '../../src/outbox/device/read-models/rebuild';
import { createPageCommandPipeline } from '../../src/outbox/page/page-commands';
import { type CoreClient, createCoreClient, ManualClock, run } from './support/harness';
import type { TallyRow } from './support/tally';

/** The command pipeline with a stream type that is not an order: what any plug-in gets from the core. */

let client: CoreClient;
afterEach(() => client?.close());

async function everyTable(db: CoreClient['db']): Promise<Record<string, unknown[]>> {
  const names = db.tables.map((table) => table.name).sort();
  const rows = await Promise.all(names.map((name) => db.table(name).toArray()));
  return Object.fromEntries(names.map((name, index) => [name, rows[index] ?? []]));
}

describe('a command of any stream type', () => {
  it('writes its events, outbox rows, read-model row and delivery facts in one transaction', async () => {
    client = createCoreClient({ clock: new ManualClock() });
    const tallyId = client.ids();
    await run(client, { type: 'OpenTally', tallyId, label: 'Coins' });
    const added = await client.pipeline.execute({ command: { type: 'AddToTally', tallyId, amount: 40 } });

    expect(added).toMatchObject({ ok: true, value: { streamType: 'tally', id: tallyId, version: 2 } });
    const streamId = `tally-${tallyId}`;
    expect(
      (await client.db.events.where('streamId').equals(streamId).sortBy('position')).map((e) => e.type),
    ).toEqual(['TallyOpened', 'Added']);
    expect((await client.db.outbox.toArray()).map((row) => [row.version, row.status])).toEqual([
      [1, 'pending'],
      [2, 'pending'],
    ]);
    expect(await client.db.table<TallyRow>('tallies').get(tallyId)).toMatchObject({
      label: 'Coins',
      status: 'open',
      total: 40,
      version: 2,
    });
    expect(await client.db.deliveries.get(streamId)).toMatchObject({ state: 'local', version: 2 });
  });

  it('writes nothing at all when the transaction fails, and the bus hears nothing', async () => {
    client = createCoreClient({ clock: new ManualClock() });
    const tallyId = client.ids();
    await run(client, { type: 'OpenTally', tallyId, label: 'Coins' });
    const before = await everyTable(client.db);
    const heard: string[] = [];
    const bus = new EventBus();
    bus.events$.subscribe((event) => heard.push(event.type));
    const failing = createPageCommandPipeline({
      db: client.db,
      clock: client.clock,
      ids: client.ids,
      clientId: client.clientId,
      bus,
      faults: {
        whileWriting: () => {
          throw new Error('disk gone');
        },
      },
    });
    const result = await failing.execute({ command: { type: 'AddToTally', tallyId, amount: 5 } });
    expect(!result.ok && result.error).toBeInstanceOf(StorageError);
    expect(await everyTable(client.db)).toEqual(before);
    expect(heard).toEqual([]);
  });

  it("is refused by its type's decider or schema with a typed error, writing nothing", async () => {
    client = createCoreClient({ clock: new ManualClock() });
    const tallyId = client.ids();
    const before = await everyTable(client.db);
    const notOpen = await client.pipeline.execute({ command: { type: 'AddToTally', tallyId, amount: 5 } });
    expect(!notOpen.ok && notOpen.error).toBeInstanceOf(DomainError);
    expect(!notOpen.ok && notOpen.error.code).toBe('tally_not_open');
    const invalid = await client.pipeline.execute({ command: { type: 'AddToTally', tallyId, amount: 0.5 } });
    expect(!invalid.ok && invalid.error).toBeInstanceOf(ValidationError);
    expect(!invalid.ok && invalid.error instanceof ValidationError && invalid.error.byField().amount).toMatch(
      /whole number/,
    );
    expect(await everyTable(client.db)).toEqual(before);
  });

  it('answers a repeated commandId once, and refuses it for a different command', async () => {
    client = createCoreClient({ clock: new ManualClock() });
    const tallyId = client.ids();
    const commandId = client.ids();
    await run(client, { type: 'OpenTally', tallyId, label: 'Coins' });
    const first = await client.pipeline.execute({
      command: { type: 'AddToTally', tallyId, amount: 5 },
      commandId,
    });
    const again = await client.pipeline.execute({
      command: { type: 'AddToTally', tallyId, amount: 5 },
      commandId,
    });
    const other = await client.pipeline.execute({
      command: { type: 'AddToTally', tallyId, amount: 6 },
      commandId,
    });
    expect(again).toMatchObject({ ok: true, value: { duplicate: true, version: 2 } });
    expect(first.ok && again.ok && again.value.events).toEqual(first.ok && first.value.events);
    expect(!other.ok && other.error).toBeInstanceOf(CommandIdReusedError);
    expect(await client.db.events.count()).toBe(2);
  });

  it('shares one transaction with the commands issued beside it, each stream in arrival order', async () => {
    client = createCoreClient({ clock: new ManualClock() });
    const [a, b] = [client.ids(), client.ids()];
    const modes: string[] = [];
    const original = client.db.transaction.bind(client.db);
    (client.db as { transaction: unknown }).transaction = (...args: unknown[]) => {
      modes.push(String(args[0]));
      return (original as (...rest: unknown[]) => unknown)(...args);
    };
    const results = await Promise.all([
      client.pipeline.execute({ command: { type: 'OpenTally', tallyId: a, label: 'A' } }),
      client.pipeline.execute({ command: { type: 'OpenTally', tallyId: b, label: 'B' } }),
      client.pipeline.execute({ command: { type: 'AddToTally', tallyId: a, amount: 10 } }),
      client.pipeline.execute({ command: { type: 'CloseTally', tallyId: a } }),
      client.pipeline.execute({ command: { type: 'AddToTally', tallyId: b, amount: 99 } }),
    ]);
    expect(results.every((result) => result.ok)).toBe(true);
    expect(modes).toEqual(['rw']);
    const closed = await client.db.events.where('streamId').equals(`tally-${a}`).last();
    // The close saw the addition made earlier in the same group.
    expect(closed).toMatchObject({ type: 'TallyClosed', data: { total: 10 }, version: 3 });
  });

  it('leaves read models a rebuild reproduces exactly', async () => {
    client = createCoreClient({ clock: new ManualClock() });
    for (let n = 0; n < 5; n += 1) {
      const tallyId = client.ids();
      await run(client, { type: 'OpenTally', tallyId, label: `T${n}` });
      for (let k = 0; k <= n; k += 1) await run(client, { type: 'AddToTally', tallyId, amount: 10 + k });
      if (n % 2 === 0) await run(client, { type: 'CloseTally', tallyId });
      client.clock.advance(1_000);
    }
    const inline = await everyTable(client.db);
    await rebuildReadModels(client.db, 3);
    expect(await everyTable(client.db)).toEqual(inline);
  });
});
