import { IDBFactory, IDBKeyRange } from 'fake-indexeddb';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import * as v from 'valibot';
import { expect } from 'vitest';
import { openAppDb } from '../../../src/app/schema';
import { rebuildReadModels } from '../../../src/outbox/device/read-models/rebuild';
import { type FeedEvent, FeedPageSchema } from '../../../src/outbox/protocol/feed';
import { streamTypes } from '../../../src/plugins';
import {
  runUserCommand,
  type ServerProcess,
  startServerProcess,
  tempDir,
} from '../../server/support/server-process';
import { CHROMIUM_ARGS, waitForWorker } from './browser';
import { statusBar } from './ui';

/**
 * Several devices of one shop in real Chromium (issue 22): each a browser of its own on a persistent,
 * on-disk profile, signed in to the reference server (AUTH=users, users made with the real CLI, on SQLite or
 * PostgreSQL). What a person does is done by role and label; what a device holds is read raw from IndexedDB.
 */

export interface Device {
  readonly context: BrowserContext;
  readonly page: Page;
  close(): Promise<void>;
}

/** A browser on its own persistent profile (its IndexedDB, worker and cookies on disk), the app open. */
export async function openDevice(profileDir: string, origin: string): Promise<Device> {
  const context = await chromium.launchPersistentContext(profileDir, {
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    args: CHROMIUM_ARGS,
  });
  return openIn(context, origin);
}

/** The app open in `context` (a profile of a browser already running), as a device of its own. */
export async function openIn(context: BrowserContext, origin: string): Promise<Device> {
  const page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(20_000);
  page.on('pageerror', (error) => console.error(`[page error] ${error.message}`));
  await page.goto(`${origin}/#/orders`);
  await waitForWorker(page);
  await page.getByRole('heading', { level: 1, name: 'Orders' }).waitFor();
  return { context, page, close: () => context.close() };
}

/** Signs in through the status bar's dialog, as a person does. */
export async function signIn(page: Page, username: string, password: string): Promise<void> {
  await statusBar(page)
    .getByRole('button', { name: /^Sign in/ })
    .click();
  const dialog = page.getByRole('dialog', { name: /^Sign in( to send)?$/ });
  await dialog.getByLabel('Username').fill(username);
  await dialog.getByLabel('Password').fill(password);
  await dialog.getByRole('button', { name: 'Sign in', exact: true }).click();
  await dialog.waitFor({ state: 'hidden' });
  await expect.poll(() => statusBar(page).textContent()).toContain(`Signed in as ${username}`);
}

/** Names the device on the Outbox screen, then goes back to the orders. */
export async function nameDevice(page: Page, name: string): Promise<void> {
  await page
    .getByRole('navigation', { name: 'Main' })
    .getByRole('link', { name: 'Outbox', exact: true })
    .click();
  const field = page.getByLabel('Device name');
  await expect.poll(() => field.inputValue()).not.toBe('');
  await field.fill(name);
  await page.getByRole('button', { name: 'Save name' }).click();
  await page.getByText(`Other devices now see this one as “${name}”.`).waitFor();
  await page
    .getByRole('navigation', { name: 'Main' })
    .getByRole('link', { name: 'Orders', exact: true })
    .click();
}

export interface UsersServerProcess {
  readonly process: ServerProcess;
  readonly origin: string;
  /** Every event the user may see, read over HTTP with a session of the test's own (the feed, page by page). */
  feedAs(username: string, password: string): Promise<FeedEvent[]>;
}

/**
 * The reference server with AUTH=users serving the production build, its users made with the real CLI; on
 * PostgreSQL when `databaseUrl` is given (a database of its own), else on SQLite in a temp folder.
 */
export async function startUsersServer(options: {
  readonly distDir: string;
  readonly users: Readonly<Record<string, string>>;
  readonly databaseUrl?: string;
  readonly env?: Readonly<Record<string, string>>;
  readonly folders: { remove(): void }[];
}): Promise<UsersServerProcess> {
  const data = tempDir('devices');
  options.folders.push(data);
  const env = { ...(options.databaseUrl ? { DATABASE_URL: options.databaseUrl } : {}), ...options.env };
  // The database takes the CLI runs in turn; run at once they cost one start-up of the CLI, not one each.
  await Promise.all(
    Object.entries(options.users).map(async ([username, password]) => {
      const added = await runUserCommand(data.path, ['add', username], { stdin: `${password}\n`, env });
      if (added.code !== 0) throw new Error(`user add ${username} failed: ${added.stderr}`);
    }),
  );
  const process = await startServerProcess({
    dataDir: data.path,
    distDir: options.distDir,
    auth: 'users',
    env,
  });
  return {
    process,
    origin: process.origin,
    async feedAs(username, password) {
      const login = await fetch(`${process.origin}/api/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username, password }),
      });
      const session = /^outpost_session=([^;]*)/.exec(login.headers.get('set-cookie') ?? '')?.[1];
      if (!session) throw new Error(`login as ${username} answered ${login.status}`);
      const events: FeedEvent[] = [];
      let since = '0';
      for (let page = 0; page < 100; page += 1) {
        const response = await fetch(
          `${process.baseUrl}/feed?clientId=${crypto.randomUUID()}&since=${encodeURIComponent(since)}`,
          { headers: { cookie: `outpost_session=${session}` } },
        );
        const body = v.parse(FeedPageSchema, await response.json());
        events.push(...body.events);
        since = body.cursor;
        if (!body.hasMore) return events;
      }
      throw new Error('the feed never ends');
    },
  };
}

/** Every object store of the app's database, read raw in the page (self-contained: it is serialised). */
export async function dumpDatabase(): Promise<Record<string, unknown[]>> {
  const db = await new Promise<IDBDatabase>((resolve, reject) => {
    const request = indexedDB.open('outpost');
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
  try {
    const names = Array.from(db.objectStoreNames);
    const tx = db.transaction(names, 'readonly');
    const rows = await Promise.all(
      names.map(
        (name) =>
          new Promise<unknown[]>((resolve, reject) => {
            const request = tx.objectStore(name).getAll();
            request.onsuccess = () => resolve(request.result);
            request.onerror = () => reject(request.error);
          }),
      ),
    );
    return Object.fromEntries(names.map((name, index) => [name, rows[index] ?? []]));
  } finally {
    db.close();
  }
}

/** What a rebuild makes again: snapshots, delivery facts, and every stream type's read models. */
const REBUILT = ['streams', 'deliveries', ...Object.keys(streamTypes.tables)];

let copies = 0;

/**
 * The device's read models equal what a rebuild makes from its own events: its event store, outbox and
 * bookkeeping are copied into a database of the same layout (fake-indexeddb, in Node), rebuilt there with
 * the app's stream types, and every rebuilt table compared with the device's.
 */
export async function expectReadModelsEqualRebuild(page: Page): Promise<void> {
  const dump = await page.evaluate(dumpDatabase);
  copies += 1;
  const copy = openAppDb({
    name: `rebuild-${copies}`,
    streamTypes,
    indexedDB: new IDBFactory(),
    IDBKeyRange,
  });
  await copy.open();
  try {
    await copy.transaction('rw', ['events', 'outbox', 'meta', 'archive', 'commands'], async () => {
      for (const table of ['events', 'outbox', 'meta', 'archive', 'commands']) {
        await copy.table(table).bulkPut(dump[table] ?? []);
      }
    });
    await rebuildReadModels(copy);
    const byKey = (rows: unknown[], key: string) =>
      [...rows].sort((a, b) =>
        String((a as Record<string, unknown>)[key]).localeCompare(
          String((b as Record<string, unknown>)[key]),
        ),
      );
    for (const table of REBUILT) {
      const key = table === 'streams' || table === 'deliveries' ? 'streamId' : 'id';
      const rebuilt = await copy.table(table).toArray();
      expect(byKey(dump[table] ?? [], key), `table ${table}`).toEqual(byKey(rebuilt, key));
    }
  } finally {
    copy.close();
  }
}

/** The client events a device holds, read raw. */
export async function clientEventsOf(
  page: Page,
): Promise<{ eventId: string; streamId: string; version: number }[]> {
  const dump = await page.evaluate(dumpDatabase);
  return (dump.events as { kind: string; eventId: string; streamId: string; version: number }[])
    .filter((event) => event.kind === 'client')
    .map(({ eventId, streamId, version }) => ({ eventId, streamId, version }));
}
