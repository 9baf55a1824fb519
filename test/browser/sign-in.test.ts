import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import * as v from 'valibot';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FeedPageSchema, HistoryPageSchema } from '../../src/outbox/protocol/feed';
import { PullResponseSchema } from '../../src/outbox/protocol/messages';
import { launchChromium, newAppContext, waitForWorker } from './support/browser';
import { readDevice } from './support/device';
import { type FaultProxy, startFaultProxy } from './support/fault-proxy';
import { nav, orderRow, statusBar, takeOrder, type UiOrderPlan } from './support/ui';
import { type OwnedClientEvent, startUsersServers, type UsersServers } from './support/users-server';

/**
 * Sign-in on the production build against the real reference server with users (AUTH=users, users made
 * with the real CLI): orders taken signed out wait for a sign-in and then go under that user; the worker
 * sends with the session cookie while no page is open; another profile signed in as someone else sees none
 * of it; and on a shared device one person's unsent orders wait for them, never sent under the next person.
 * The app is driven by role and label only; the server is asked what it stored, and its file read at the end.
 * Once a fault heals, the app is left alone: nothing asks it to send, nothing reloads it. The only touch
 * after a heal is the one the test is about, a sign-in.
 */

const LONG = { timeout: 30_000 };
const ARTIFACTS = join(import.meta.dirname, 'artifacts');

const PASSWORDS = { alice: 'alice-long-password', bob: 'bob-long-password' } as const;
type Username = keyof typeof PASSWORDS;

/** CreateOrder, AddProduct and PlaceOrder each append one client event. */
const EVENTS_PER_ORDER = 3;

const plan = (customer: string, sku = 'COF-ESP-1KG', productName = 'Espresso beans, 1 kg'): UiOrderPlan => ({
  customer,
  sku,
  productName,
  quantity: 1,
});

let servers: UsersServers;
let browser: Browser;
const contexts: BrowserContext[] = [];
const proxies: FaultProxy[] = [];

beforeAll(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  servers = startUsersServers();
  browser = await launchChromium();
});

afterAll(async () => {
  for (const context of contexts) await context.close().catch(() => undefined);
  for (const proxy of proxies) await proxy.close().catch(() => undefined);
  await browser?.close().catch(() => undefined);
  await servers?.close();
});

async function openOrders(origin: string): Promise<{ context: BrowserContext; page: Page }> {
  const context = await newAppContext(browser);
  contexts.push(context);
  const page = await context.newPage();
  page.setDefaultTimeout(20_000);
  page.on('pageerror', (error) => console.error(`[page error] ${error.message}`));
  await page.goto(`${origin}/#/orders`);
  await waitForWorker(page);
  await page.getByRole('heading', { level: 1, name: 'Orders' }).waitFor();
  return { context, page };
}

const signInDialog = (page: Page) => page.getByRole('dialog', { name: /^Sign in( to send)?$/ });

/** The status bar's sign-in prompt: "Sign in to send 2 orders", or "Sign in" when nothing waits. */
const signInPrompt = (page: Page, name: string | RegExp = /^Sign in/) =>
  statusBar(page).getByRole('button', { name });

/** Opens the dialog from the status bar and submits it; resolves once the dialog has gone. */
async function signIn(page: Page, username: Username, password: string = PASSWORDS[username]): Promise<void> {
  const dialog = await openSignIn(page);
  await submitSignIn(page, username, password);
  await dialog.waitFor({ state: 'hidden' });
  await expect.poll(() => statusBar(page).textContent()).toContain(`Signed in as ${username}`);
}

async function openSignIn(page: Page) {
  await signInPrompt(page).click();
  const dialog = signInDialog(page);
  await dialog.waitFor();
  return dialog;
}

async function submitSignIn(page: Page, username: string, password: string): Promise<void> {
  const dialog = signInDialog(page);
  await dialog.getByLabel('Username').fill(username);
  await dialog.getByLabel('Password').fill(password);
  await dialog.getByRole('button', { name: 'Sign in', exact: true }).click();
}

async function signOut(page: Page): Promise<void> {
  await statusBar(page).getByRole('button', { name: 'Sign out' }).click();
  await expect.poll(() => statusBar(page).textContent()).not.toContain('Signed in as');
}

/**
 * In-page, self-contained (serialised into the page): the device's account record, i.e. who sends and each
 * user's clientId on this device. Opens `outpost` without a version, so it never creates or upgrades it.
 */
async function readAccount(): Promise<{ user: string | null; clientIds: Record<string, string> } | null> {
  const db = await new Promise<IDBDatabase>((resolve, reject) => {
    const request = indexedDB.open('outpost');
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
  try {
    const rows = await new Promise<{ key: string; value: unknown }[]>((resolve, reject) => {
      const request = db.transaction('meta', 'readonly').objectStore('meta').getAll();
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
    const account = rows.find((row) => row.key === 'account')?.value;
    return (account as { user: string | null; clientIds: Record<string, string> } | undefined) ?? null;
  } finally {
    db.close();
  }
}

const ids = (events: readonly { eventId: string }[]): string[] => events.map((event) => event.eventId).sort();

function expectOwnedBy(stored: readonly OwnedClientEvent[], username: string, clientId: string): void {
  for (const event of stored) {
    expect(event).toMatchObject({ streamOwner: username, clientOwner: username, clientId });
  }
}

describe('signing in on the production build (AUTH=users)', () => {
  it('sends orders taken signed out once alice signs in, each event stored once, hers', async () => {
    const server = await servers.startServer({ users: { alice: PASSWORDS.alice } });
    const { context, page } = await openOrders(server.origin);

    await context.setOffline(true);
    const orders = [plan('Harbour Café'), plan('Quay Bakery', 'TEA-GRN-100', 'Green tea, 100 bags')];
    for (const order of orders) await takeOrder(page, order);
    await nav(page, 'Orders').click();
    for (const order of orders) {
      await expect.poll(() => orderRow(page, order.customer).textContent()).toMatch(/Saved on device/);
    }

    // Back online: the first push meets the server's 401, sync pauses and the status bar asks for a sign-in.
    await context.setOffline(false);
    await signInPrompt(page, 'Sign in to send 2 orders').waitFor(LONG);
    await expect.poll(() => statusBar(page).textContent()).toContain('Sign-in required');
    await statusBar(page).screenshot({ path: join(ARTIFACTS, 'sign-in-prompt-status-bar.png') });
    const alice = await server.signIn('alice', PASSWORDS.alice);
    expect((await alice.stats()).eventsStored).toBe(0);

    // A wrong password first: said under the Password field, nothing else changes.
    const dialog = await openSignIn(page);
    await submitSignIn(page, 'alice', 'not-her-password');
    await dialog.getByText('Wrong username or password').waitFor();
    expect(await dialog.getByLabel('Password').getAttribute('aria-invalid')).toBe('true');
    await page.screenshot({ path: join(ARTIFACTS, 'sign-in-dialog-wrong-password.png') });
    expect((await alice.stats()).eventsStored).toBe(0);

    // The right one (typed as a phone capitalises it): the dialog closes and the orders go by themselves.
    await submitSignIn(page, 'Alice', PASSWORDS.alice);
    await dialog.waitFor({ state: 'hidden' });
    await expect.poll(() => statusBar(page).textContent()).toContain('Signed in as alice');
    for (const order of orders) {
      await expect
        .poll(() => orderRow(page, order.customer).textContent(), LONG)
        .toMatch(/Confirmed SO-\d{6}.*Delivered/);
    }
    await expect.poll(() => statusBar(page).textContent(), LONG).toContain('Unsent 0');
    await expect.poll(() => signInPrompt(page).count()).toBe(0);

    const device = await page.evaluate(readDevice);
    expect(device.clientEvents).toHaveLength(orders.length * EVENTS_PER_ORDER);
    expect(device.outbox).toEqual([]);
    const clientId = device.clientId ?? '';
    expect(await page.evaluate(readAccount)).toMatchObject({ user: 'alice', clientIds: { alice: clientId } });
    expect(await alice.stats()).toMatchObject({
      eventsStored: orders.length * EVENTS_PER_ORDER,
      serverEventsByType: { OrderConfirmed: orders.length },
    });
    const pulled = await alice.pull(clientId);
    expect(pulled.serverEvents.map((event) => event.eventId).sort()).toEqual(
      [...device.serverEventIds].sort(),
    );

    await context.close();
    expect(await server.stop()).toBe(0);
    const stored = server.storedClientEvents();
    expect(ids(stored)).toEqual(ids(device.clientEvents));
    expect(new Set(ids(stored)).size).toBe(stored.length);
    expectOwnedBy(stored, 'alice', clientId);
  });

  it('lets the worker deliver with the session cookie while the app is closed', async () => {
    const server = await servers.startServer({ users: { alice: PASSWORDS.alice } });
    const { context, page } = await openOrders(server.origin);
    // Nothing waits yet: the start-up pull met the 401, and the prompt is a plain "Sign in".
    await signInPrompt(page, /^Sign in$/).waitFor(LONG);
    await signIn(page, 'alice');
    const clientId = (await page.evaluate(readDevice)).clientId ?? '';

    await context.setOffline(true);
    await takeOrder(page, plan('Harbour Café'));
    await nav(page, 'Orders').click();
    await expect.poll(() => orderRow(page, 'Harbour Café').textContent()).toMatch(/Saved on device/);
    const tags = await page.evaluate(async () => {
      const registration = (await navigator.serviceWorker.ready) as ServiceWorkerRegistration & {
        sync: { getTags(): Promise<string[]> };
      };
      return registration.sync.getTags();
    });
    expect(tags).toEqual(['outpost-outbox']);
    await page.close();
    expect(context.pages()).toEqual([]);
    const alice = await server.signIn('alice', PASSWORDS.alice);
    expect((await alice.stats()).eventsStored).toBe(0);

    // No page, no timer: only the Background Sync registration wakes the worker, which sends with the cookie.
    await context.setOffline(false);
    await expect.poll(async () => (await alice.stats()).eventsStored, LONG).toBe(EVENTS_PER_ORDER);
    expect(context.pages()).toEqual([]);
    expect(await alice.stats()).toMatchObject({ serverEventsByType: { OrderConfirmed: 1 } });

    await context.close();
    expect(await server.stop()).toBe(0);
    const stored = server.storedClientEvents();
    expect(stored).toHaveLength(EVENTS_PER_ORDER);
    expectOwnedBy(stored, 'alice', clientId);
  });

  it("shows bob, on a profile of his own, none of alice's orders or decisions", async () => {
    const server = await servers.startServer({ users: PASSWORDS });
    const a = await openOrders(server.origin);
    await signInPrompt(a.page, /^Sign in$/).waitFor(LONG);
    await signIn(a.page, 'alice');
    await takeOrder(a.page, plan('Harbour Café'));
    await nav(a.page, 'Orders').click();
    await expect
      .poll(() => orderRow(a.page, 'Harbour Café').textContent(), LONG)
      .toMatch(/Confirmed SO-\d{6}.*Delivered/);
    const aliceDevice = await a.page.evaluate(readDevice);
    const aliceClientId = aliceDevice.clientId ?? '';
    const aliceStreams = new Set(aliceDevice.clientEvents.map((event) => event.streamId));
    expect(aliceDevice.serverEventIds).toHaveLength(1);

    // Bob's profile: every read of what the server holds (a pull, or the feed and its history, the page's or
    // the worker's), as the browser received it.
    const b = await openOrders(server.origin);
    const pulls: { status: number; streamIds: string[] }[] = [];
    b.context.on('response', async (response) => {
      const path = new URL(response.url()).pathname;
      const schema =
        path === '/api/sync/pull'
          ? PullResponseSchema
          : path === '/api/sync/feed'
            ? FeedPageSchema
            : path === '/api/sync/feed/history'
              ? HistoryPageSchema
              : null;
      if (schema === null) return;
      const status = response.status();
      const body: unknown = await response.json().catch(() => null);
      const answer = v.safeParse(schema, body);
      const events: readonly { streamId: string }[] = !answer.success
        ? []
        : 'serverEvents' in answer.output
          ? answer.output.serverEvents
          : answer.output.events;
      pulls.push({ status, streamIds: events.map((event) => event.streamId) });
    });
    await signInPrompt(b.page, /^Sign in$/).waitFor(LONG);
    // A name someone has been guessing at (5 failures this minute): the 6th attempt is refused with a time.
    for (let attempt = 0; attempt < 5; attempt += 1) {
      expect(await server.attemptSignIn('mallory', `guess-${attempt}`)).toBe(401);
    }
    const dialog = await openSignIn(b.page);
    await submitSignIn(b.page, 'mallory', 'guess-5');
    const limited = await dialog.getByRole('alert').textContent();
    expect(limited).toMatch(
      /^Too many failed sign-ins\. Try again at \d{1,2}:\d{2}:\d{2}( [AP]M)? \(in ([1-9]|[1-5]\d|60) s\)\.$/,
    );
    await b.page.screenshot({ path: join(ARTIFACTS, 'sign-in-dialog-rate-limited.png') });
    await dialog.getByRole('button', { name: 'Not now' }).click();
    await dialog.waitFor({ state: 'hidden' });
    await signIn(b.page, 'bob');
    await expect.poll(() => pulls.filter((pull) => pull.status === 200).length, LONG).toBeGreaterThan(0);
    expect(pulls.flatMap((pull) => pull.streamIds)).toEqual([]);
    await expect.poll(() => b.page.getByText('No orders yet.').isVisible()).toBe(true);
    expect(await b.page.getByRole('list', { name: 'Orders' }).getByRole('listitem').count()).toBe(0);
    const bobDevice = await b.page.evaluate(readDevice);
    expect(bobDevice.clientEvents).toEqual([]);
    expect(bobDevice.serverEventIds).toEqual([]);
    expect(bobDevice.clientId).not.toBe(aliceClientId);

    // Asked directly: bob's pulls, under his clientId or naming alice's, return nothing; alice's return hers.
    const bob = await server.signIn('bob', PASSWORDS.bob);
    const alice = await server.signIn('alice', PASSWORDS.alice);
    expect((await bob.pull(bobDevice.clientId ?? '')).serverEvents).toEqual([]);
    expect((await bob.pull(aliceClientId)).serverEvents).toEqual([]);
    const hers = await alice.pull(aliceClientId);
    expect(hers.serverEvents.map((event) => event.eventId)).toEqual(aliceDevice.serverEventIds);
    expect(hers.serverEvents.every((event) => aliceStreams.has(event.streamId))).toBe(true);
  });

  it("keeps alice's unsent orders for her when bob signs in on her device, and sends them once she is back", async () => {
    const server = await servers.startServer({ users: PASSWORDS, behindProxy: true });
    const proxy = await startFaultProxy({ upstream: server.origin, seed: 4 });
    proxies.push(proxy);
    const { page } = await openOrders(proxy.origin);
    await signInPrompt(page, /^Sign in$/).waitFor(LONG);
    await signIn(page, 'alice');

    // The sync routes refused (sign-in still reachable): alice's orders stay on the device.
    proxy.set({ refuseRate: 1, refuseKinds: ['503'] });
    const hers = [plan('Harbour Café'), plan('Quay Bakery', 'TEA-GRN-100', 'Green tea, 100 bags')];
    for (const order of hers) await takeOrder(page, order);
    await nav(page, 'Orders').click();
    for (const order of hers) {
      await expect.poll(() => orderRow(page, order.customer).textContent()).toMatch(/Saved on device/);
    }
    await signOut(page);

    // The sync routes back: a push without a session meets the 401, and the device asks for a sign-in.
    proxy.heal();
    await signInPrompt(page, 'Sign in to send 2 orders').waitFor(LONG);
    await signIn(page, 'bob');
    const parkedText = `${hers.length * EVENTS_PER_ORDER} entries wait for alice to sign in`;
    await expect.poll(() => statusBar(page).textContent(), LONG).toContain(parkedText);
    for (const order of hers) {
      await expect
        .poll(() => orderRow(page, order.customer).textContent())
        .toContain('Saved on device — waits for alice to sign in');
    }

    // Bob's own order goes at once, under him; alice's stay where they are.
    await takeOrder(page, plan('Lighthouse Inn', 'MLK-OAT-1L', 'Oat drink, 1 l'));
    await nav(page, 'Orders').click();
    await expect
      .poll(() => orderRow(page, 'Lighthouse Inn').textContent(), LONG)
      .toMatch(/Confirmed SO-\d{6}.*Delivered/);
    await expect.poll(() => statusBar(page).textContent(), LONG).toContain(`Up to date; ${parkedText}`);
    await page.screenshot({ path: join(ARTIFACTS, 'sign-in-parked-orders.png'), fullPage: true });
    await statusBar(page).screenshot({ path: join(ARTIFACTS, 'sign-in-parked-status-bar.png') });
    const observer = await server.signIn('bob', PASSWORDS.bob);
    expect((await observer.stats()).eventsStored).toBe(EVENTS_PER_ORDER);
    const parked = await page.evaluate(readDevice);
    expect(parked.outbox.map((row) => row.status)).toEqual(
      Array.from({ length: hers.length * EVENTS_PER_ORDER }, () => 'parked'),
    );
    for (const order of hers) {
      expect(await orderRow(page, order.customer).textContent()).toContain(
        'Saved on device — waits for alice to sign in',
      );
    }

    // The outbox screen lists them in a section of their own.
    await nav(page, 'Outbox').click();
    const section = page.getByRole('heading', { level: 2, name: /^Waiting for another person's sign-in/ });
    await expect.poll(() => section.textContent()).toContain(String(hers.length * EVENTS_PER_ORDER));
    await page.screenshot({ path: join(ARTIFACTS, 'sign-in-parked-outbox.png'), fullPage: true });
    const account = await page.evaluate(readAccount);
    const aliceClientId = account?.clientIds.alice ?? '';
    const bobClientId = account?.clientIds.bob ?? '';
    expect(aliceClientId).not.toBe(bobClientId);

    // Alice back on her device: her orders go, under her own clientId, once.
    await nav(page, 'Orders').click();
    await signOut(page);
    await signInPrompt(page).waitFor(LONG);
    const prompt = await signInPrompt(page).textContent();
    expect((await observer.stats()).eventsStored).toBe(EVENTS_PER_ORDER);
    await signIn(page, 'alice');
    for (const order of hers) {
      await expect
        .poll(() => orderRow(page, order.customer).textContent(), LONG)
        .toMatch(/Confirmed SO-\d{6}.*Delivered/);
    }
    await expect.poll(() => statusBar(page).textContent(), LONG).toContain('Unsent 0');
    expect(await statusBar(page).textContent()).not.toContain('wait for');
    const device = await page.evaluate(readDevice);
    expect(device.outbox).toEqual([]);

    await page.context().close();
    expect(await server.stop()).toBe(0);
    const stored = server.storedClientEvents();
    expect(ids(stored)).toEqual(ids(device.clientEvents));
    expect(new Set(ids(stored)).size).toBe(stored.length);
    expect(new Set(stored.map((event) => event.streamId)).size).toBe(hers.length + 1);
    const aliceStored = stored.filter((event) => event.streamOwner === 'alice');
    const bobStored = stored.filter((event) => event.streamOwner === 'bob');
    expect(aliceStored).toHaveLength(hers.length * EVENTS_PER_ORDER);
    expect(bobStored).toHaveLength(EVENTS_PER_ORDER);
    expectOwnedBy(aliceStored, 'alice', aliceClientId);
    expectOwnedBy(bobStored, 'bob', bobClientId);
    console.log(`[sign-in, shared device] prompt after bob left: "${prompt}"; proxy: ${proxy.summary()}`);
  });
});
