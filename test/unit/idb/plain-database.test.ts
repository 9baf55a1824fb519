import Dexie, { liveQuery } from 'dexie';
import { afterEach, describe, expect, it } from 'vitest';
import { SCHEMA_VERSION as SYNC_SCHEMA_VERSION } from '../../../src/app/schema-version';
import type { OutboxRecords } from '../../../src/outbox/storage/outbox-database';
import {
  DatabaseUnavailableError,
  openPlainDatabase,
  type PlainOutboxDatabase,
} from '../../../src/outbox/storage/plain-database';
import type { OutboxRow } from '../../../src/outbox/storage/rows';
import { STORAGE_MUTATED_CHANNEL } from '../../../src/outbox/storage/storage-mutated';
import { streamTypes } from '../../../src/plugins';
import { openTestDb } from '../../support/app-db';

/** What only the worker's implementation does: open without upgrading, step aside, tell Dexie of writes. */

const opened: PlainOutboxDatabase[] = [];
const channels: BroadcastChannel[] = [];
afterEach(() => {
  for (const db of opened.splice(0)) db.close();
  for (const channel of channels.splice(0)) channel.close();
});

const uniqueName = () => `plain-${crypto.randomUUID()}`;

function plain(name: string, schemaVersion = SYNC_SCHEMA_VERSION, quiet = true): PlainOutboxDatabase {
  const db = openPlainDatabase({
    name,
    streamTypes,
    schemaVersion,
    ...(quiet ? { notify: () => undefined } : {}),
  });
  opened.push(db);
  return db;
}

async function unavailable(work: Promise<unknown>): Promise<string> {
  const error = await work.then(
    () => null,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(DatabaseUnavailableError);
  return (error as DatabaseUnavailableError).code;
}

/** One read of `meta` in a read transaction of its own. */
const readMeta = (db: PlainOutboxDatabase, key: string) =>
  db.transact('r', ['meta'], (records) => records.meta(key));

/** Writes in one read-write transaction of their own. */
const write = (
  db: PlainOutboxDatabase,
  scope: readonly string[],
  work: (records: OutboxRecords) => Promise<unknown>,
) => db.transact('rw', scope, work);

/** Messages on Dexie's change channel, as another context receives them. */
function listen(): unknown[] {
  const received: unknown[] = [];
  const channel = new BroadcastChannel(STORAGE_MUTATED_CHANNEL);
  channel.onmessage = (event: MessageEvent) => received.push(event.data);
  channels.push(channel);
  return received;
}

/** Resolves once `check` holds for what was received; the test's timeout is the bound. */
async function until(check: () => boolean): Promise<void> {
  while (!check()) await new Promise((resolve) => setTimeout(resolve, 5));
}

const row = (eventId: string, position: number): OutboxRow => ({
  eventId,
  position,
  streamId: 'order-1',
  version: position,
  type: 'OrderCreated',
  status: 'pending',
  attempts: 0,
  nextAttemptAt: 0,
  lastError: null,
  deadCode: null,
  createdAt: 0,
});

/** The schema a later app version could declare: today's tables plus one. */
function openNextVersion(name: string) {
  const next = openTestDb({ name });
  next.version(SYNC_SCHEMA_VERSION + 1).stores({ later: '&id' });
  return next;
}

describe('opening the database the pages own', () => {
  it('finds no database, says so, and leaves none behind for a page to trip on', async () => {
    const name = uniqueName();
    const db = plain(name);
    expect(await unavailable(readMeta(db, 'clientId'))).toBe('no_database');
    expect(await unavailable(write(db, ['meta'], (records) => records.putMeta('clientId', 'c-0')))).toBe(
      'no_database',
    );
    expect((await indexedDB.databases()).map((info) => info.name)).not.toContain(name);

    // Once a page has created it, the same object opens it.
    const page = openTestDb({ name });
    await page.meta.put({ key: 'clientId', value: 'c-1' });
    expect(await readMeta(db, 'clientId')).toBe('c-1');
    page.close();
  });

  it('refuses a schema older or newer than the one it was built for, and blocks no upgrade', async () => {
    const name = uniqueName();
    const page = openTestDb({ name });
    await page.open();
    expect(await unavailable(readMeta(plain(name, SYNC_SCHEMA_VERSION + 1), 'x'))).toBe('schema_outdated');
    page.close();
    const upgraded = openNextVersion(name);
    await upgraded.open();
    expect(await unavailable(readMeta(plain(name), 'x'))).toBe('schema_newer');
    upgraded.close();
  });

  it('closes its connection when a page upgrades the database, then reopens and re-checks on next use', async () => {
    const name = uniqueName();
    const page = openTestDb({ name });
    await page.open();
    const db = plain(name);
    await write(db, ['meta'], (records) => records.putMeta('k', 1));
    page.close();

    // Would wait forever on a connection that stayed open (an upgrade is blocked until all others close).
    const upgraded = openNextVersion(name);
    await upgraded.open();
    expect(upgraded.verno).toBe(SYNC_SCHEMA_VERSION + 1);
    expect(await unavailable(readMeta(db, 'k'))).toBe('schema_newer');
    upgraded.close();
  });
});

describe("telling pages' Dexie about the worker's writes", () => {
  it('posts each committed write as Dexie does: one message per transaction, the same parts and range shape', async () => {
    const name = uniqueName();
    const page = openTestDb({ name });
    await page.open();
    const received = listen();

    await page.outbox.put(row('from-dexie', 1));
    await until(() => received.length === 1);
    const fromDexie = received[0] as Record<string, object>;

    const db = plain(name, SYNC_SCHEMA_VERSION, false);
    await write(db, ['outbox', 'meta'], async (records) => {
      await records.putOutboxRows([row('from-worker', 2)]);
      await records.putMeta('k', 1);
      await records.outboxRows(['from-dexie']);
    });
    await until(() => received.length === 2);
    const fromWorker = received[1] as Record<string, object>;

    // Every part Dexie's write named, the worker's names too (it invalidates whole tables, so it names all
    // of a touched table's parts), each a cloned RangeSet of the same shape.
    for (const [part, range] of Object.entries(fromDexie)) {
      expect(fromWorker[part]).toBeDefined();
      expect(Object.keys(fromWorker[part] ?? {}).sort()).toEqual(Object.keys(range).sort());
    }
    expect(Object.keys(fromWorker).sort()).toEqual(
      ['', ':dels', '[status+position]', '[streamId+version]', 'position', 'streamId']
        .map((part) => `idb://${name}/outbox/${part}`)
        .concat([`idb://${name}/meta/`, `idb://${name}/meta/:dels`])
        .sort(),
    );
    expect(fromWorker[`idb://${name}/meta/`]).toEqual({ d: 1, from: Number.NEGATIVE_INFINITY, to: [[]] });

    // Reads, empty writes and aborted transactions change nothing and post nothing.
    await db.transact('r', ['outbox'], (records) => records.outboxRows(['from-worker']));
    await write(db, ['outbox'], (records) => records.putOutboxRows([]));
    await write(db, ['meta'], async (records) => {
      await records.putMeta('k', 2);
      throw new Error('abort');
    }).catch(() => undefined);
    await write(db, ['meta'], (records) => records.putMeta('marker', true));
    await until(() => received.length === 3);
    expect(Object.keys(received[2] as object).sort()).toEqual([
      `idb://${name}/meta/`,
      `idb://${name}/meta/:dels`,
    ]);
    page.close();
  });

  it("re-runs a page's live query after a transaction the worker committed", async () => {
    const name = uniqueName();
    const page = openTestDb({ name });
    await page.outbox.put(row('first', 1));
    const seen: number[] = [];
    const subscription = liveQuery(() =>
      page.outbox
        .where('[status+position]')
        .between(['pending', Dexie.minKey], ['pending', Dexie.maxKey])
        .count(),
    ).subscribe((count) => seen.push(count));
    await until(() => seen.includes(1));

    const db = plain(name, SYNC_SCHEMA_VERSION, false);
    await write(db, ['outbox'], (records) => records.putOutboxRows([row('second', 2)]));
    await until(() => seen.includes(2));
    expect(seen).toEqual([1, 2]);
    subscription.unsubscribe();
    page.close();
  });
});
