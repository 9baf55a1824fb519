import { describe, expect, it } from 'vitest';
import type { SyncEngine } from '../../../src/outbox/device/sync/engine';
import type { StoredRefusalRecord } from '../../../src/outbox/storage/rows';
import type { StockCountLines, StockCountSummary } from '../../../src/stockcount/read-models';
import { type ClientSide, setupSyncTestServer } from '../sync/harness';

/**
 * Two people counting the same stockroom on two devices: each sees the other's lines; a recount replaces a
 * line by the count's own rule (the quantity recorded last, as decided on the count as the server holds it);
 * their scans of one product add up (each decided again on the line the server holds); a submission whose
 * count changed on the other device meanwhile is decided again, so it submits the lines the count now has,
 * or is refused when the other device abandoned the count.
 */

const { setup, addClient } = setupSyncTestServer({ seed: 2203 });

const withFeed = (client: ClientSide): SyncEngine => client.engine({ feed: true, userAgent: 'Test' });

async function settle(client: ClientSide): Promise<void> {
  const engine = withFeed(client);
  for (let round = 0; round < 50; round += 1) {
    const report = await engine.flush();
    if ((report.outcome === 'idle' || report.outcome === 'drained') && (await client.outbox()).length === 0) {
      await engine.pull();
      return;
    }
    const next = report.nextAttemptAt ?? client.clock.now() + 1_000;
    client.clock.advance(Math.max(1, next - client.clock.now()));
  }
  throw new Error('not settled');
}

const sheetOf = async (client: ClientSide, countId: string) =>
  (await client.db.table<StockCountLines>('stockCountLines').get(countId))?.lines.map((line) => [
    line.sku,
    line.quantity,
  ]);
const countOf = (client: ClientSide, countId: string) =>
  client.db.table<StockCountSummary>('stockCounts').get(countId);
const refusals = async (client: ClientSide) =>
  (await client.db.events.toArray()).filter(
    (event): event is StoredRefusalRecord => event.kind === 'local' && event.type === 'CommandRefused',
  );
const record = (countId: string, sku: string, quantity: number) => ({
  type: 'RecordQuantity',
  countId,
  sku,
  quantity,
});

/** A count of the back room started on `a` and known to `b`. */
async function sharedCount() {
  const { clock, client: a, backend } = setup();
  const b = addClient({ clock, seed: 2204 });
  const countId = a.ids();
  await a.run({ type: 'StartCount', countId, location: 'BACK-ROOM' });
  await settle(a);
  await withFeed(b).pull();
  expect(await countOf(b, countId)).toMatchObject({ location: 'BACK-ROOM', status: 'counting' });
  return { a, b, backend, countId };
}

describe('one stockroom counted on two devices', () => {
  it("shows each device the other's lines", async () => {
    const { a, b, countId } = await sharedCount();
    await a.run(record(countId, 'COF-ESP-1KG', 5));
    await b.run(record(countId, 'TEA-GRN-100', 3));
    await settle(a);
    await settle(b);
    await withFeed(a).pull();
    const both = [
      ['COF-ESP-1KG', 5],
      ['TEA-GRN-100', 3],
    ];
    expect(await sheetOf(a, countId)).toEqual(both);
    expect(await sheetOf(b, countId)).toEqual(both);
    expect(await refusals(b)).toEqual([]);
  });

  it("replaces the other device's line with a recount, by the count's own rule", async () => {
    const { a, b, countId } = await sharedCount();
    await a.run(record(countId, 'COF-ESP-1KG', 5));
    await settle(a);
    await withFeed(b).pull();
    // b recounts the shelf while a, meanwhile, corrects its own figure first.
    await b.run(record(countId, 'COF-ESP-1KG', 7));
    await a.run(record(countId, 'COF-ESP-1KG', 6));
    await settle(a);

    await settle(b);
    await withFeed(a).pull();

    // b's recount, decided again on a's corrected line, still holds: the line counted last is the line.
    expect(await sheetOf(b, countId)).toEqual([['COF-ESP-1KG', 7]]);
    expect(await sheetOf(a, countId)).toEqual([['COF-ESP-1KG', 7]]);
  });

  it("adds both devices' scans of one product, each decided again on the line as the server holds it", async () => {
    const { a, b, countId } = await sharedCount();
    const add = { type: 'AddCounted', countId, sku: 'COF-ESP-1KG', quantity: 1 };
    // Two people scan the same product on two shelves, neither device having seen the other's scans.
    await a.run(add);
    await a.run(add);
    await b.run(add);
    await b.run({ ...add, quantity: 6 });
    await settle(a);

    await settle(b);
    await withFeed(a).pull();

    expect(await sheetOf(b, countId)).toEqual([['COF-ESP-1KG', 9]]);
    expect(await sheetOf(a, countId)).toEqual([['COF-ESP-1KG', 9]]);
    expect(await refusals(b)).toEqual([]);
  });

  it('decides a submission again on the lines the other device added meanwhile', async () => {
    const { a, b, backend, countId } = await sharedCount();
    await a.run(record(countId, 'COF-ESP-1KG', 5));
    await settle(a);
    await withFeed(b).pull();
    await b.run({ type: 'SubmitCount', countId });
    await a.run(record(countId, 'TEA-GRN-100', 3));
    await settle(a);

    await settle(b);

    const streamId = `stockcount-${countId}`;
    const stored = await backend.storage.read(async (reader) =>
      (await reader.streams([streamId])).get(streamId),
    );
    expect(stored?.events.at(-1)).toMatchObject({
      type: 'CountSubmitted',
      data: {
        lines: [
          { sku: 'COF-ESP-1KG', quantity: 5 },
          { sku: 'TEA-GRN-100', quantity: 3 },
        ],
      },
    });
    expect((await countOf(b, countId))?.status).toMatch(/^(accepted|rejected)$/);
  });

  it('refuses a submission of a count the other device abandoned, and says so', async () => {
    const { a, b, countId } = await sharedCount();
    await b.run(record(countId, 'COF-ESP-1KG', 5));
    await b.run({ type: 'SubmitCount', countId });
    await a.run({ type: 'AbandonCount', countId, reason: 'Wrong room' });
    await settle(a);

    await settle(b);

    expect(await countOf(b, countId)).toMatchObject({ status: 'abandoned' });
    expect((await refusals(b)).map((refusal) => [refusal.data.code, refusal.data.cause?.type])).toEqual([
      ['count_not_open', 'CountAbandoned'],
      ['count_not_open', 'CountAbandoned'],
    ]);
  });
});
