import { afterEach, describe, expect, it } from 'vitest';
import type { SyncEngine } from '../../src/outbox/device/sync/engine';
import {
  type CoreClient,
  type CoreServer,
  createCoreClient,
  createCoreServer,
  ManualClock,
  run,
} from './support/harness';
import { tallyAndNoteServerTypes, tallyAndNoteTypes } from './support/note';
import { TALLY_LIMIT, type TallyRow } from './support/tally';

/** The sync engine and the core's protocol server with stream types that are not orders. */

let clients: CoreClient[] = [];
afterEach(async () => {
  await Promise.all(clients.map((client) => client.close()));
  clients = [];
});

/** Flushes as the schedule would, moving the clock to each wake-up, until nothing waits; no "sync now". */
async function settle(client: CoreClient, engine: SyncEngine, maxRounds = 500): Promise<void> {
  for (let round = 0; round < maxRounds; round += 1) {
    const report = await engine.flush();
    const pending = await client.db.outbox.count();
    // Settled: nothing to send and nothing owed (a pull whose request failed is owed until one succeeds).
    if (
      pending === 0 &&
      report.nextAttemptAt === null &&
      (report.outcome === 'idle' || report.outcome === 'drained')
    )
      return;
    const next = report.nextAttemptAt ?? client.clock.now() + 1_000;
    client.clock.advance(Math.max(1, next - client.clock.now()));
  }
  throw new Error(`not settled after ${maxRounds} rounds: ${await client.db.outbox.count()} entries left`);
}

async function tallies(client: CoreClient, count: number, amounts: readonly number[]): Promise<string[]> {
  const ids: string[] = [];
  for (let n = 0; n < count; n += 1) {
    const tallyId = client.ids();
    ids.push(tallyId);
    await run(client, { type: 'OpenTally', tallyId, label: `Tally ${n}` });
    for (const amount of amounts) await run(client, { type: 'AddToTally', tallyId, amount });
    await run(client, { type: 'CloseTally', tallyId });
  }
  return ids;
}

describe('delivering a stream type the core knows nothing about', () => {
  for (const seed of [1, 2, 3]) {
    it(`stores every event once, in order per stream, through refusals and lost answers (seed ${seed})`, async () => {
      const clock = new ManualClock();
      const client = createCoreClient({ clock });
      clients.push(client);
      const server = createCoreServer({ clock, seed });
      server.faults.refuse = 0.3;
      server.faults.loseAnswer = 0.2;
      // Twelve tallies: the amounts of the last four add up past the limit, so the server refuses those.
      const small = await tallies(client, 8, [100, 90, 50]);
      const large = await tallies(client, 4, [100, 100, 100, 100, 100, 100, 100, 100, 100, 100, 100]);

      await settle(client, client.engine(server));

      for (const tallyId of [...small, ...large]) {
        const streamId = `tally-${tallyId}`;
        const local = await client.db.events.where('streamId').equals(streamId).sortBy('position');
        const stored = await server.storage.read(
          async (reader) => (await reader.streams([streamId])).get(streamId)?.events ?? [],
        );
        const sent = local.filter((event) => event.kind === 'client');
        expect(stored.map((event) => event.eventId)).toEqual(sent.map((event) => event.eventId));
        expect(stored.map((event) => event.version)).toEqual(sent.map((_, index) => index + 1));
      }
      // Every decision came back and reached the read model.
      const rows = await client.db.table<TallyRow>('tallies').toArray();
      const byId = new Map(rows.map((row) => [row.id, row]));
      for (const tallyId of small)
        expect(byId.get(tallyId)).toMatchObject({
          status: 'approved',
          approval: expect.stringMatching(/^T-\d+$/),
        });
      for (const tallyId of large) {
        expect(byId.get(tallyId)?.total).toBeGreaterThan(TALLY_LIMIT);
        expect(byId.get(tallyId)?.status).toBe('refused');
      }
      expect(await client.db.outbox.count()).toBe(0);
      expect((await client.db.deliveries.toArray()).every((row) => row.state === 'delivered')).toBe(true);
    });
  }
});

describe('two stream types in one outbox', () => {
  it('a type the server does not serve is refused as unknown_stream_type and holds back only its own streams', async () => {
    const clock = new ManualClock();
    const client = createCoreClient({ clock, streamTypes: tallyAndNoteTypes });
    clients.push(client);
    // A server of an older release: it knows tallies, not notes.
    const server: CoreServer = createCoreServer({ clock });
    const noteId = client.ids();
    await run(client, { type: 'WriteNote', noteId, text: 'Check the till' });
    const [tallyId] = await tallies(client, 1, [5]);

    await settle(client, client.engine(server)).catch(() => undefined);

    const dead = await client.db.outbox.where('status').equals('dead').toArray();
    expect(dead.map((row) => [row.streamId, row.deadCode])).toEqual([
      [`note-${noteId}`, 'rejected:unknown_stream_type'],
    ]);
    expect(await client.db.deliveries.get(`note-${noteId}`)).toMatchObject({
      state: 'attention',
      blocked: { deadCode: 'rejected:unknown_stream_type' },
    });
    expect(
      await server.storage.read(
        async (reader) => (await reader.streams([`tally-${tallyId}`])).get(`tally-${tallyId}`)?.events ?? [],
      ),
    ).toHaveLength(3);
    expect(await client.db.table<TallyRow>('tallies').get(tallyId ?? '')).toMatchObject({
      status: 'approved',
    });
  });

  it('share one schedule: after an outage both are delivered, with nobody asking', async () => {
    const clock = new ManualClock();
    const client = createCoreClient({ clock, streamTypes: tallyAndNoteTypes });
    clients.push(client);
    const server = createCoreServer({ clock, streamTypes: tallyAndNoteServerTypes });
    server.faults.unreachable = true;
    const noteIds = [client.ids(), client.ids()];
    for (const noteId of noteIds) await run(client, { type: 'WriteNote', noteId, text: 'hello' });
    await tallies(client, 2, [1, 2]);
    const engine = client.engine(server);
    // A request that never connects leaves everything pending.
    expect(await engine.flush()).toMatchObject({ delivered: 0, dead: 0 });
    expect(await client.db.outbox.count()).toBe(10);
    server.faults.unreachable = false;
    await settle(client, engine);
    for (const noteId of noteIds) {
      expect(
        await server.storage.read(
          async (reader) => (await reader.streams([`note-${noteId}`])).get(`note-${noteId}`)?.events ?? [],
        ),
      ).toHaveLength(1);
    }
    expect(await client.db.outbox.count()).toBe(0);
  });
});
