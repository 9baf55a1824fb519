import { randomUUID } from 'node:crypto';
import type { BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  deliveries,
  eventually,
  flushes,
  type Harness,
  newAppContext,
  openApp,
  outbox,
  placeOrder,
  serverState,
  startHarness,
  summaries,
  waitForApp,
} from './support/browser';

let harness: Harness;
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  harness = await startHarness();
});

afterAll(async () => {
  for (const context of contexts) await context.close().catch(() => undefined);
  await harness?.close();
});

const journeys = [
  // A sync event can fire while the worker still sees no network; it then sends once it does ('sync:online').
  { name: 'with Background Sync', query: '', mode: 'background-sync', drainedBy: 'worker', reason: /^sync/ },
  {
    name: 'with Background Sync forced off (the page drives the flush)',
    query: '?sync=fallback',
    mode: 'fallback',
    drainedBy: 'page',
    reason: /^online$/,
  },
] as const;

describe.each(journeys)('an order taken offline, $name', ({ query, mode, drainedBy, reason }) => {
  it('is saved offline, survives an offline reload, and is confirmed or rejected once back online', async () => {
    const context = await newAppContext(harness.browser);
    contexts.push(context);
    const page = await openApp(context, `${harness.baseUrl}/${query}`);
    expect(
      await page.evaluate(() => (window as { __outpost?: { syncMode: string } }).__outpost?.syncMode),
    ).toBe(mode);

    await context.setOffline(true);
    const good = { orderId: randomUUID(), customerName: 'Ada Lovelace', sku: 'BEANS-1' };
    const discontinued = { orderId: randomUUID(), customerName: 'Grace Hopper', sku: 'DISC-KETTLE' };
    await placeOrder(page, good);
    await placeOrder(page, discontinued);
    const saved = await deliveries(page);
    expect(saved.length).toBeGreaterThan(0);
    expect(saved.every(({ state }) => state === 'pending' || state === 'inflight')).toBe(true);

    // The shell comes from the worker's precache: the network is still off.
    await page.reload();
    await waitForApp(page);
    const offline = await summaries(page);
    expect(offline.map((s) => s.orderId).sort()).toEqual([good.orderId, discontinued.orderId].sort());
    expect(offline.every((s) => s.status === 'placed' && s.orderNumber === null)).toBe(true);
    expect(await page.locator('#root').textContent()).toContain('Outpost');

    // Notification subscribers listen on the page's bus, whichever context applied the decisions.
    await page.evaluate(() => {
      const w = window as Window & {
        __outpost?: { bus: { events$: { subscribe(next: (event: { type: string }) => void): unknown } } };
        __busTypes?: string[];
      };
      w.__busTypes = [];
      w.__outpost?.bus.events$.subscribe((event) => w.__busTypes?.push(event.type));
    });
    if (mode === 'fallback') {
      // Page sync loads after the first render; on a loaded machine that can take longer than the steps
      // above. The network comes back once it has started (its start flush found the device offline), so it
      // is the network's return that the page answers, as this test asserts.
      await eventually(
        () => flushes(page),
        (all) => all.some((r) => r.source === 'page' && r.reasons.includes('start')),
      );
    }

    await context.setOffline(false);
    // Outbox rows and flush reports ride along so a failure shows how far delivery got.
    const { orders: settled } = await eventually(
      async () => ({
        orders: await summaries(page),
        outbox: (await outbox(page)).map((row) => `${row.status}/${row.attempts}/${row.lastError}`),
        flushes: await flushes(page),
        mode,
        locks: await page.evaluate(async () => JSON.stringify(await navigator.locks.query())),
        syncTags: await page.evaluate(async () => {
          const registration = (await navigator.serviceWorker.ready) as ServiceWorkerRegistration & {
            sync?: { getTags(): Promise<string[]> };
          };
          return registration.sync ? await registration.sync.getTags() : null;
        }),
      }),
      ({ orders }) =>
        orders.length === 2 && orders.every((row) => row.status === 'confirmed' || row.status === 'rejected'),
    );
    const byId = new Map(settled.map((row) => [row.orderId, row]));
    expect(byId.get(good.orderId)).toMatchObject({ status: 'confirmed', syncState: 'delivered' });
    expect(byId.get(good.orderId)?.orderNumber).toMatch(/^SO-\d{6}$/);
    expect(byId.get(discontinued.orderId)).toMatchObject({
      status: 'rejected',
      rejection: { code: 'discontinued_sku' },
    });
    // Delivered rows are deleted: nothing is left in the outbox, and every event reads delivered.
    expect(await outbox(page)).toEqual([]);
    expect(new Set((await deliveries(page)).map(({ state }) => state))).toEqual(new Set(['delivered']));

    // Who drained it: the worker's sync event, or the page's own flush when the network came back. The
    // report is posted after the flush returns, a moment after the read models changed.
    const reports = await eventually(
      () => flushes(page),
      (all) =>
        all.some(
          (r) => r.source === drainedBy && r.reasons.some((why) => reason.test(why)) && r.delivered > 0,
        ),
      { timeoutMs: 10_000 },
    );
    if (mode === 'fallback') {
      expect(reports.filter((report) => report.source === 'worker' && report.delivered > 0)).toEqual([]);
    }

    const busTypes = await page.evaluate(
      () => (window as Window & { __busTypes?: string[] }).__busTypes ?? [],
    );
    expect(busTypes.filter((type) => type === 'OrderConfirmed' || type === 'OrderRejected').sort()).toEqual([
      'OrderConfirmed',
      'OrderRejected',
    ]);

    const server = await serverState(page);
    expect(server.arrivals).toHaveLength(6);
    expect(new Set(server.arrivals.map((arrival) => arrival.eventId)).size).toBe(6);
  });
});

describe('the app as an installable PWA', () => {
  it('has a valid manifest and meets Chromium installability rules', async () => {
    const context = await newAppContext(harness.browser);
    contexts.push(context);
    const page = await openApp(context, `${harness.baseUrl}/`);
    const cdp = await context.newCDPSession(page);
    const manifest = await cdp.send('Page.getAppManifest');
    expect(manifest.errors).toEqual([]);
    expect(JSON.parse(manifest.data ?? '{}')).toMatchObject({
      name: 'Outpost',
      start_url: '/',
      display: 'standalone',
    });
    const { installabilityErrors } = await cdp.send('Page.getInstallabilityErrors');
    // Playwright's contexts are incognito-like; that is the only reason Chromium may give.
    expect(installabilityErrors.filter((error) => error.errorId !== 'in-incognito')).toEqual([]);

    // The status area's storage figures: usage against a real quota.
    const storage = await page.evaluate(
      () =>
        new Promise<unknown>((resolve) => {
          const outpost = (
            window as Window & {
              __outpost?: { storage$: { subscribe(next: (value: unknown) => void): unknown } };
            }
          ).__outpost;
          outpost?.storage$.subscribe((value) => {
            if (value !== null) resolve(value);
          });
        }),
    );
    expect(storage).toMatchObject({
      usage: expect.any(Number),
      quota: expect.any(Number),
    });
    expect((storage as { quota: number }).quota).toBeGreaterThan(0);
  });

  it('answers API URLs opened in a tab from the server, not with the app shell', async () => {
    const context = await newAppContext(harness.browser);
    contexts.push(context);
    const page = await openApp(context, `${harness.baseUrl}/`);
    await page.goto(`${harness.baseUrl}/api/sync/health`);
    expect(JSON.parse((await page.locator('body').textContent()) ?? '')).toEqual({ status: 'ok' });
  });
});
