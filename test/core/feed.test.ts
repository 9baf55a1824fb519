import * as v from 'valibot';
import { afterEach, describe, expect, it } from 'vitest';
import { rebuildReadModels } from '../../src/outbox/device/read-models/rebuild';
import type { SyncEngine } from '../../src/outbox/device/sync/engine';
import { readFeedEvent } from '../../src/outbox/device/sync/feed-events';
import { FEED_STATE_KEY, type FeedState, initialFeedState } from '../../src/outbox/device/sync/feed-state';
import { syncStorage } from '../../src/outbox/device/sync/sync-storage';
import { openOutboxDb } from '../../src/outbox/page/database';
import { FeedPageSchema } from '../../src/outbox/protocol/feed';
import type { WireClientEvent } from '../../src/outbox/protocol/messages';
import {
  BASE_URL,
  type CoreClient,
  type CoreServer,
  createCoreClient,
  createCoreServer,
  ManualClock,
  run,
} from './support/harness';
import { tallyAndNoteServerTypes, tallyAndNoteTypes } from './support/note';
import { type TallyRow, tallyTypes as tallyTypesOnly } from './support/tally';

/**
 * The feed on the client, on the core's own test-only stream types: another device's events applied like
 * this one's, a page stored once however often it arrives, a protocol v1 server that has no feed, what
 * this build cannot read kept for after an update, a malformed page refused whole, and a new device's
 * history, newest first, within the person's retention setting.
 */

let clients: CoreClient[] = [];
afterEach(async () => {
  await Promise.all(clients.map((client) => client.close()));
  clients = [];
});

function device(clock: ManualClock, streamTypes = tallyAndNoteTypes): CoreClient {
  const client = createCoreClient({ clock, streamTypes });
  clients.push(client);
  return client;
}

const withFeed = (client: CoreClient, server: CoreServer, transport = server.transport): SyncEngine =>
  client.engine(server, { feed: true, userAgent: 'Test', transport });

async function settle(client: CoreClient, engine: SyncEngine): Promise<void> {
  for (let round = 0; round < 50; round += 1) {
    const report = await engine.flush();
    if (
      (report.outcome === 'idle' || report.outcome === 'drained') &&
      (await client.db.outbox.count()) === 0
    ) {
      await engine.pull();
      return;
    }
    const next = report.nextAttemptAt ?? client.clock.now() + 1_000;
    client.clock.advance(Math.max(1, next - client.clock.now()));
  }
  throw new Error('not settled');
}

async function tallies(client: CoreClient, count: number, from = 0): Promise<string[]> {
  const ids: string[] = [];
  for (let n = from; n < from + count; n += 1) {
    const tallyId = client.ids();
    ids.push(tallyId);
    await run(client, { type: 'OpenTally', tallyId, label: `Tally ${n}` });
    await run(client, { type: 'AddToTally', tallyId, amount: 10 });
    await run(client, { type: 'CloseTally', tallyId });
    client.clock.advance(60_000);
  }
  return ids;
}

const readModels = async (client: CoreClient) => ({
  tallies: await client.db.table('tallies').orderBy('id').toArray(),
  notes: await client.db.table('notes').orderBy('id').toArray(),
  deliveries: await client.db.deliveries.orderBy('streamId').toArray(),
});

async function expectRebuildAgrees(client: CoreClient): Promise<void> {
  const before = await readModels(client);
  await rebuildReadModels(client.db);
  expect(await readModels(client)).toEqual(before);
}

describe("another device's events", () => {
  it('are stored and shown like this device’s own, with no outbox rows, and name who wrote them', async () => {
    const clock = new ManualClock();
    const server = createCoreServer({ clock, streamTypes: tallyAndNoteServerTypes });
    const [a, b] = [device(clock), device(clock)];
    const [tallyId] = await tallies(a, 1);
    await settle(a, withFeed(a, server));

    const pulled = await withFeed(b, server).pull();

    expect(pulled).toBe(4);
    const row = await b.db.table<TallyRow>('tallies').get(tallyId ?? '');
    expect(row).toMatchObject({
      label: 'Tally 0',
      status: 'approved',
      total: 10,
      approval: expect.any(String),
    });
    expect(await b.db.outbox.count()).toBe(0);
    const events = await b.db.events.orderBy('position').toArray();
    expect(events.map((event) => [event.kind, event.type])).toEqual([
      ['client', 'TallyOpened'],
      ['client', 'Added'],
      ['client', 'TallyClosed'],
      ['server', 'TallyApproved'],
    ]);
    expect(events[0]?.kind === 'client' && events[0].metadata.clientId).toBe(a.clientId);
    const authors = await b.db.meta.get('authors');
    expect(authors?.value).toEqual({
      [a.clientId]: { user: null, device: expect.stringMatching(/^Browser · /) },
    });
    // And a's own come back as delivered, nothing twice.
    await withFeed(a, server).pull();
    expect(await a.db.events.count()).toBe(4);
    await expectRebuildAgrees(b);
  });

  it('are stored once when the same page arrives twice, or two contexts read it at once', async () => {
    const clock = new ManualClock();
    const server = createCoreServer({ clock, streamTypes: tallyAndNoteServerTypes });
    const [a, b] = [device(clock), device(clock)];
    await tallies(a, 3);
    await settle(a, withFeed(a, server));

    // A page and the worker, both reading the feed on one database at the same moment, without a lock.
    const [page, worker] = [withFeed(b, server), b.engine(server, { feed: true, ownerId: 'worker' })];
    await Promise.all([page.pull(), worker.pull()]);
    const once = await readModels(b);
    expect(await b.db.events.count()).toBe(12);

    // The same page stored again, from where it started and from where it ended: nothing changes.
    const response = await server.transport(`${BASE_URL}/feed?clientId=${b.clientId}`);
    const feed = v.parse(FeedPageSchema, await response.json());
    const storage = syncStorage(b.db);
    const page0 = {
      key: FEED_STATE_KEY,
      events: feed.events.map((event) => readFeedEvent(tallyAndNoteTypes, event)),
      authors: feed.authors,
      now: clock.now(),
      ids: b.ids,
      reclaimLeases: false,
    };
    const stale = await storage.storeFeedPage({
      ...page0,
      expected: initialFeedState,
      next: { cursor: feed.cursor, history: null },
    });
    expect(stale.kind).toBe('moved');
    const current = (await storage.readFeedState(FEED_STATE_KEY)) as FeedState;
    const again = await storage.storeFeedPage({ ...page0, expected: current, next: current });
    expect(again).toMatchObject({ kind: 'applied', stored: [] });
    expect(await readModels(b)).toEqual(once);
    expect(await b.db.events.count()).toBe(12);
  });
});

describe('a server without the feed (protocol v1)', () => {
  it('is pulled as before, and a version another device took stays a dead letter', async () => {
    const clock = new ManualClock();
    const server = createCoreServer({ clock, streamTypes: tallyAndNoteServerTypes, feed: false });
    const a = device(clock);
    const tallyId = a.ids();
    await run(a, { type: 'OpenTally', tallyId, label: 'Float' });
    const engine = withFeed(a, server);
    await settle(a, engine);
    expect(await a.db.table<TallyRow>('tallies').get(tallyId)).toMatchObject({ status: 'open' });

    // Another client stores version 2 first; without a feed this device never hears of it.
    const other = a.ids();
    const taken = await server.transport(
      new Request(`${BASE_URL}/push`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          protocol: 1,
          clientId: other,
          batchId: a.ids(),
          events: [
            {
              eventId: a.ids(),
              streamId: `tally-${tallyId}`,
              version: 2,
              type: 'Added',
              schemaVersion: 1,
              data: { amount: 1 },
              metadata: {
                commandId: a.ids(),
                correlationId: a.ids(),
                causationId: null,
                occurredAt: new Date(clock.now()).toISOString(),
                clientId: other,
              },
            },
          ],
        }),
      }),
    );
    expect(taken.status).toBe(200);
    await run(a, { type: 'AddToTally', tallyId, amount: 5 });
    await engine.flush();
    const rows = await a.db.outbox.toArray();
    expect(rows.map((row) => [row.status, row.deadCode])).toEqual([['dead', 'rejected:version_conflict']]);
    expect(await a.db.events.filter((event) => event.kind === 'local').count()).toBe(0);
  });
});

describe('what this build cannot read', () => {
  it('is kept unread, never blocks the page, holds its stream back, and is read after the device updates', async () => {
    const clock = new ManualClock();
    const server = createCoreServer({ clock, streamTypes: tallyAndNoteServerTypes });
    const newer = device(clock);
    const [tallyId] = await tallies(newer, 1);
    const noteId = newer.ids();
    await run(newer, { type: 'WriteNote', noteId, text: 'Count the float twice' });
    await settle(newer, withFeed(newer, server));
    // A still newer app wrote an event version nobody here knows.
    await server.storage.transaction((tx) =>
      tx.write({
        clientId: newer.clientId,
        clientEvents: [
          // Written behind the push's checks: this server's build knows only event version 1 too.
          {
            eventId: newer.ids(),
            streamId: `tally-${tallyId}`,
            version: 4,
            type: 'Added',
            schemaVersion: 2,
            data: { amount: 3, currency: 'EUR' },
            metadata: {
              commandId: newer.ids(),
              correlationId: newer.ids(),
              causationId: null,
              occurredAt: new Date(clock.now()).toISOString(),
              clientId: newer.clientId,
            },
          } as unknown as WireClientEvent,
        ],
      }),
    );

    // An older build: it knows tallies only.
    const older = createCoreClient({ clock, streamTypes: tallyTypesOnly });
    clients.push(older);
    await withFeed(older, server).pull();
    const events = await older.db.events.orderBy('position').toArray();
    expect(
      events
        .filter((event) => event.kind === 'unread')
        .map((event) => [event.type, event.kind === 'unread' && event.reason]),
    ).toEqual([
      ['NoteWritten', 'unknown_stream_type'],
      ['Added', 'newer_event_version'],
    ]);
    expect(await older.db.table<TallyRow>('tallies').get(tallyId ?? '')).toMatchObject({ total: 10 });
    expect((await older.db.meta.get('unreadEvents'))?.value).toBe(2);
    const refused = await older.pipeline.execute({ command: { type: 'CloseTally', tallyId } });
    expect(!refused.ok && refused.error.code).toBe('stream_needs_update');

    // The update: a build that knows notes opens the same database at its new layout.
    const name = older.db.name;
    older.db.close();
    const updated = openOutboxDb({ name, streamTypes: tallyAndNoteTypes, version: 2 });
    await updated.open();
    expect(await updated.table('notes').get(noteId)).toEqual({ id: noteId, text: 'Count the float twice' });
    const kinds = (await updated.events.orderBy('position').toArray()).map((event) => event.kind);
    expect(kinds.filter((kind) => kind === 'unread')).toHaveLength(1);
    expect((await updated.meta.get('unreadEvents'))?.value).toBe(1);
    updated.close();
    await updated.delete();
  });
});

describe('a malformed feed page', () => {
  it('is refused whole with a clear status, nothing of it stored, and read again once the server is right', async () => {
    const clock = new ManualClock();
    const server = createCoreServer({ clock, streamTypes: tallyAndNoteServerTypes });
    const [a, b] = [device(clock), device(clock)];
    await tallies(a, 2);
    await settle(a, withFeed(a, server));
    let broken = true;
    const mangling: typeof fetch = async (input, init) => {
      const response = await server.transport(input, init);
      const url = new Request(input, init).url;
      if (!broken || !url.includes('/feed')) return response;
      const body = (await response.json()) as { events: { eventId: string }[] };
      const [first] = body.events;
      if (first) first.eventId = 'not-an-event-id';
      return new Response(JSON.stringify(body), { status: response.status, headers: response.headers });
    };
    const engine = withFeed(b, server, mangling);
    await expect(engine.pull()).rejects.toMatchObject({ code: 'invalid_response' });
    expect(await b.db.events.count()).toBe(0);
    expect(await b.db.meta.get(FEED_STATE_KEY)).toBeUndefined();
    const status = (await b.db.meta.get('syncStatus'))?.value as { lastError: string | null };
    expect(status.lastError).toMatch(/breaks the protocol at events\.0\.eventId/);

    broken = false;
    await engine.pull();
    expect(await b.db.events.count()).toBe(8);
  });
});

describe('a new device', () => {
  it('gets the history newest first, usable while the rest loads, then follows the feed from where it began', async () => {
    const clock = new ManualClock();
    const server = createCoreServer({ clock, streamTypes: tallyAndNoteServerTypes });
    const a = device(clock);
    const ids = await tallies(a, 30);
    await settle(a, withFeed(a, server));

    const fresh = device(clock);
    let release: () => void = () => undefined;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    const historyPages: string[] = [];
    const held: typeof fetch = async (input, init) => {
      const url = new Request(input, init).url;
      if (url.includes('/feed/history')) {
        historyPages.push(url);
        if (historyPages.length === 2) await released;
      }
      return server.transport(input, init);
    };
    const catchingUp = withFeed(fresh, server, held).pull();
    await expect.poll(() => historyPages.length).toBe(2);
    // The first page is in: the newest streams are there and the device takes commands on them.
    const first = await fresh.db.table<TallyRow>('tallies').toArray();
    expect(first.map((row) => row.id).sort()).toEqual(ids.slice(5).sort());
    expect((await fresh.db.meta.get('catchUp'))?.value).toEqual({ loaded: 25, total: 30, done: false });
    const mine = fresh.ids();
    await run(fresh, { type: 'OpenTally', tallyId: mine, label: 'While loading' });
    release();
    await catchingUp;
    expect(await fresh.db.table('tallies').count()).toBe(31);
    expect((await fresh.db.meta.get('catchUp'))?.value).toEqual({ loaded: 30, total: 30, done: true });

    // After the history, the feed from its head: a's next tally arrives, nothing arrives twice.
    const [later] = await tallies(a, 1, 30);
    await settle(a, withFeed(a, server));
    await withFeed(fresh, server).pull();
    expect(await fresh.db.table<TallyRow>('tallies').get(later ?? '')).toMatchObject({ status: 'approved' });
    expect(await fresh.db.events.filter((event) => event.kind === 'client').count()).toBe(31 * 3 + 1);
    await expectRebuildAgrees(fresh);
  });

  it('says plainly that its database vanished when the browser had delivered under another clientId', async () => {
    const clock = new ManualClock();
    const server = createCoreServer({ clock, streamTypes: tallyAndNoteServerTypes });
    // One browser profile: its cookies outlive its IndexedDB.
    const jar = new Map<string, string>();
    const browser: typeof fetch = async (input, init) => {
      const request = new Request(input, init);
      const cookie = [...jar].map(([name, value]) => `${name}=${value}`).join('; ');
      if (cookie) request.headers.set('cookie', cookie);
      const response = await server.transport(request);
      const set = /^([^=]+)=([^;]*)/.exec(response.headers.get('set-cookie') ?? '');
      if (set?.[1] && set[2] !== undefined) jar.set(set[1], set[2]);
      return response;
    };
    const before = device(clock);
    await tallies(before, 1);
    await settle(before, withFeed(before, server, browser));
    expect(await before.db.meta.get('vanished')).toBeUndefined();

    const after = device(clock);
    await withFeed(after, server, browser).pull();
    expect((await after.db.meta.get('vanished'))?.value).toEqual({
      clientId: before.clientId,
      device: expect.stringMatching(/^Browser · /),
      user: null,
      noticedAt: clock.now(),
    });
    // And what the server held comes back.
    expect(await after.db.table('tallies').count()).toBe(1);
  });
});
