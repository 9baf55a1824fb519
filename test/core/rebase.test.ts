import { afterEach, describe, expect, it } from 'vitest';
import { rebuildReadModels } from '../../src/outbox/device/read-models/rebuild';
import type { SyncEngine } from '../../src/outbox/device/sync/engine';
import { syncStorage } from '../../src/outbox/device/sync/sync-storage';
import type { StoredRefusalRecord } from '../../src/outbox/storage/rows';
import { crashOnceOnFeedPage } from './support/crash-once';
import {
  type CoreClient,
  type CoreServer,
  createCoreClient,
  createCoreServer,
  ManualClock,
  run,
} from './support/harness';
import type { TallyRow } from './support/tally';

/**
 * Deciding again, as timelines on the core's own test-only stream type (a tally people add to and close):
 * two devices share a tally through the feed; one changes it while the other, offline, changes it too; the
 * second comes back. Its commands are decided again on the tally as the server holds it: what still holds is
 * sent under new eventIds, what no longer holds is refused with what happened and where, and nothing is
 * lost or stored twice, whatever breaks in between.
 */

let clients: CoreClient[] = [];
afterEach(async () => {
  await Promise.all(clients.map((client) => client.close()));
  clients = [];
});

function device(clock: ManualClock): CoreClient {
  const client = createCoreClient({ clock });
  clients.push(client);
  return client;
}

const feedEngine = (client: CoreClient, server: CoreServer): SyncEngine =>
  client.engine(server, { feed: true, userAgent: 'Test' });

/** Flushes (and reads the feed) as the schedule would, moving the clock to each wake-up, until settled. */
async function settle(client: CoreClient, engine: SyncEngine, maxRounds = 50): Promise<void> {
  for (let round = 0; round < maxRounds; round += 1) {
    const report = await engine.flush();
    if (report.outcome === 'idle' || report.outcome === 'drained') {
      if ((await client.db.outbox.count()) === 0) {
        await engine.pull();
        return;
      }
    }
    const next = report.nextAttemptAt ?? client.clock.now() + 1_000;
    client.clock.advance(Math.max(1, next - client.clock.now()));
  }
  throw new Error(`not settled after ${maxRounds} rounds`);
}

const tallyOf = async (client: CoreClient, tallyId: string) =>
  client.db.table<TallyRow>('tallies').get(tallyId);

/** What the server holds of a stream: its client events' ids and types, in version order. */
async function onServer(server: CoreServer, streamId: string) {
  const stream = await server.storage.read(async (reader) =>
    (await reader.streams([streamId])).get(streamId),
  );
  return (stream?.events ?? []).map((event) => ({
    eventId: event.eventId,
    version: event.version,
    type: event.type,
    data: event.data,
  }));
}

/** The read models as stored, and as a rebuild makes them from the events: they must agree. */
async function expectRebuildAgrees(client: CoreClient): Promise<void> {
  const read = async () => ({
    tallies: await client.db.table('tallies').toArray(),
    streams: (await client.db.streams.toArray()).map(({ foldedPosition: _, ...row }) => row),
    deliveries: await client.db.deliveries.toArray(),
  });
  const before = await read();
  await rebuildReadModels(client.db);
  expect(await read()).toEqual(before);
}

const refusals = async (client: CoreClient): Promise<StoredRefusalRecord[]> =>
  (await client.db.events.toArray()).filter(
    (event): event is StoredRefusalRecord => event.kind === 'local' && event.type === 'CommandRefused',
  );

/** A tally opened on `a` and known to both devices through the feed. */
async function sharedTally(a: CoreClient, b: CoreClient, server: CoreServer) {
  const tallyId = a.ids();
  await run(a, { type: 'OpenTally', tallyId, label: 'Till float' });
  await settle(a, feedEngine(a, server));
  await feedEngine(b, server).pull();
  expect((await tallyOf(b, tallyId))?.status).toBe('open');
  return { tallyId, streamId: `tally-${tallyId}` };
}

describe('deciding again when another device changed the same stream first', () => {
  it('still holds: the command is decided again on the new state and sent under a new eventId', async () => {
    const clock = new ManualClock();
    const server = createCoreServer({ clock });
    const [a, b] = [device(clock), device(clock)];
    const { tallyId, streamId } = await sharedTally(a, b, server);

    // Both add while apart; b's reaches the server first.
    await run(a, { type: 'AddToTally', tallyId, amount: 30 });
    const [offline] = (await a.db.outbox.toArray()).map((row) => row.eventId);
    await run(b, { type: 'AddToTally', tallyId, amount: 12 });
    await settle(b, feedEngine(b, server));

    await settle(a, feedEngine(a, server));

    const stored = await onServer(server, streamId);
    expect(stored.map((event) => [event.version, event.type, event.data])).toEqual([
      [1, 'TallyOpened', { label: 'Till float' }],
      [2, 'Added', { amount: 12 }],
      [3, 'Added', { amount: 30 }],
    ]);
    // The event the server refused never goes again: its replacement has an id of its own.
    expect(stored.map((event) => event.eventId)).not.toContain(offline);
    expect(await refusals(a)).toEqual([]);
    expect((await tallyOf(a, tallyId))?.total).toBe(42);
    await feedEngine(b, server).pull();
    expect((await tallyOf(b, tallyId))?.total).toBe(42);
    await expectRebuildAgrees(a);
    await expectRebuildAgrees(b);
  });

  it('no longer holds: the command is refused with what happened and where, its effect taken back', async () => {
    const clock = new ManualClock();
    const server = createCoreServer({ clock });
    const [a, b] = [device(clock), device(clock)];
    const { tallyId, streamId } = await sharedTally(a, b, server);

    await run(a, { type: 'AddToTally', tallyId, amount: 30 });
    expect((await tallyOf(a, tallyId))?.total).toBe(30);
    clock.advance(60_000);
    await run(b, { type: 'CloseTally', tallyId });
    await settle(b, feedEngine(b, server));

    await settle(a, feedEngine(a, server));

    expect((await onServer(server, streamId)).map((event) => event.type)).toEqual([
      'TallyOpened',
      'TallyClosed',
    ]);
    expect(await tallyOf(a, tallyId)).toMatchObject({ status: 'approved', total: 0 });
    const [refusal, ...more] = await refusals(a);
    expect(more).toEqual([]);
    expect(refusal?.data).toMatchObject({
      command: { type: 'AddToTally', tallyId, amount: 30 },
      events: [{ type: 'Added', data: { amount: 30 }, version: 2 }],
      code: 'tally_not_open',
      cause: { kind: 'client', type: 'TallyClosed', clientId: b.clientId },
    });
    expect(await a.db.outbox.count()).toBe(0);
    await expectRebuildAgrees(a);
  });

  it('holds partially: of two commands, the one that no longer holds is refused and the other still goes', async () => {
    const clock = new ManualClock();
    const server = createCoreServer({ clock });
    const [a, b] = [device(clock), device(clock)];
    const { tallyId, streamId } = await sharedTally(a, b, server);
    const second = a.ids();
    await run(a, { type: 'OpenTally', tallyId: second, label: 'Second till' });
    await settle(a, feedEngine(a, server));
    await feedEngine(b, server).pull();

    // a adds to both tallies and closes the first; b closed the first meanwhile.
    await run(a, { type: 'AddToTally', tallyId, amount: 5 });
    await run(a, { type: 'AddToTally', tallyId: second, amount: 9 });
    await run(a, { type: 'CloseTally', tallyId });
    await run(b, { type: 'CloseTally', tallyId });
    await settle(b, feedEngine(b, server));

    await settle(a, feedEngine(a, server));

    // The add no longer holds; the close is already satisfied (nothing to send); the other tally is untouched.
    expect((await onServer(server, streamId)).map((event) => event.type)).toEqual([
      'TallyOpened',
      'TallyClosed',
    ]);
    expect((await onServer(server, `tally-${second}`)).map((event) => event.type)).toEqual([
      'TallyOpened',
      'Added',
    ]);
    expect((await refusals(a)).map((refusal) => refusal.data.command)).toEqual([
      { type: 'AddToTally', tallyId, amount: 5 },
    ]);
    expect(await tallyOf(a, tallyId)).toMatchObject({ status: 'approved', total: 0 });
    expect(await tallyOf(a, second)).toMatchObject({ status: 'open', total: 9 });
    await expectRebuildAgrees(a);
  });

  it('decides again when the feed brings the other change before the push does, without a round of refusals', async () => {
    const clock = new ManualClock();
    const server = createCoreServer({ clock });
    const [a, b] = [device(clock), device(clock)];
    const { tallyId, streamId } = await sharedTally(a, b, server);
    await run(a, { type: 'AddToTally', tallyId, amount: 7 });
    await run(b, { type: 'AddToTally', tallyId, amount: 3 });
    await settle(b, feedEngine(b, server));

    const pushesBefore = server.pushes;
    // A poke of the live channel: the device reads the feed first, decides again, and sends at once.
    await feedEngine(a, server).pull();
    expect(server.pushes - pushesBefore).toBe(1);
    expect(await a.db.outbox.count()).toBe(0);
    expect((await onServer(server, streamId)).map((event) => event.data)).toEqual([
      { label: 'Till float' },
      { amount: 3 },
      { amount: 7 },
    ]);
    expect(await refusals(a)).toEqual([]);
  });

  it('loses nothing and stores nothing twice when the device crashes between the conflict and the rebase', async () => {
    const clock = new ManualClock();
    const server = createCoreServer({ clock });
    const [a, b] = [device(clock), device(clock)];
    const { tallyId, streamId } = await sharedTally(a, b, server);
    await run(a, { type: 'AddToTally', tallyId, amount: 20 });
    await run(a, { type: 'AddToTally', tallyId, amount: 21 });
    await run(b, { type: 'AddToTally', tallyId, amount: 1 });
    await settle(b, feedEngine(b, server));

    // The push is answered version_conflict; the rebase's transaction then dies half-way (a crash).
    const crashing = crashOnceOnFeedPage(a.db);
    const engine = a.engine(server, {
      feed: true,
      userAgent: 'Test',
      storage: syncStorage(crashing.database),
    });
    await engine.flush();
    expect(crashing.crashed()).toBe(true);
    // Nothing of the page was stored: the unsent events are as they were, waiting.
    expect((await a.db.outbox.toArray()).map((row) => row.version)).toEqual([2, 3]);
    expect(await tallyOf(a, tallyId)).toMatchObject({ total: 41 });

    // The next start: decided again, sent, stored once.
    await settle(a, feedEngine(a, server));
    const stored = await onServer(server, streamId);
    expect(stored.map((event) => [event.version, event.data])).toEqual([
      [1, { label: 'Till float' }],
      [2, { amount: 1 }],
      [3, { amount: 20 }],
      [4, { amount: 21 }],
    ]);
    expect(new Set(stored.map((event) => event.eventId)).size).toBe(4);
    expect(await tallyOf(a, tallyId)).toMatchObject({ total: 42 });
    await expectRebuildAgrees(a);
  });
});
