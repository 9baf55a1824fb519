import { randomUUID } from 'node:crypto';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  deliveries,
  eventually,
  type Harness,
  newAppContext,
  openApp,
  outbox,
  placeOrder,
  serverState,
  setFaults,
  startHarness,
  summaries,
  waitForApp,
} from './support/browser';

let harness: Harness;
let context: BrowserContext | undefined;

beforeAll(async () => {
  harness = await startHarness();
});

afterAll(async () => {
  await context?.close().catch(() => undefined);
  await harness?.close();
});

type UpdateWindow = Window & {
  __outpost?: { update$: { subscribe(next: (waiting: boolean) => void): unknown }; applyUpdate(): void };
  __updateWaiting?: boolean;
};

const workerScripts = (page: Page) =>
  page.evaluate(async () => {
    const registration = await navigator.serviceWorker.getRegistration();
    return {
      active: registration?.active?.scriptURL ?? null,
      waiting: registration?.waiting !== null && registration?.waiting !== undefined,
    };
  });

/** Every cache of the origin and the URLs it holds. */
const cachedUrls = (page: Page) =>
  page.evaluate(async () => {
    const held: Record<string, string[]> = {};
    for (const name of await caches.keys()) {
      held[name] = (await (await caches.open(name)).keys()).map((request) => request.url).sort();
    }
    return held;
  });

describe('a new app version', () => {
  it('waits for the person to accept it, then takes over without losing the outbox or the demo server', async () => {
    context = await newAppContext(harness.browser);
    const page = await openApp(context, `${harness.baseUrl}/`);

    const delivered = { orderId: randomUUID(), customerName: 'Delivered before', sku: 'BEANS-1' };
    await placeOrder(page, delivered);
    await eventually(
      () => summaries(page),
      (rows) => rows.some((row) => row.orderId === delivered.orderId && row.status === 'confirmed'),
    );
    // The demo server goes "down" (a persisted fault), so the next order stays in the outbox.
    await setFaults(page, { offline: true });
    const waiting = { orderId: randomUUID(), customerName: 'Waiting in the outbox', sku: 'BEANS-1' };
    await placeOrder(page, waiting);

    await page.evaluate(() => {
      const w = window as UpdateWindow;
      w.__outpost?.update$.subscribe((value) => {
        w.__updateWaiting = value;
      });
    });
    // The shell as the first version precached it, plus a file of an older build that no version lists now.
    const shell = await cachedUrls(page);
    const [precacheName] = Object.keys(shell);
    expect(Object.keys(shell)).toHaveLength(1);
    expect(shell[precacheName ?? '']).toEqual(
      expect.arrayContaining([expect.stringMatching(/\/index\.html\?__WB_REVISION__=[0-9a-f]+$/)]),
    );
    const stale = `${harness.baseUrl}/assets/gone-from-this-build.js`;
    await page.evaluate(
      async ({ name, url }) => (await caches.open(name)).put(url, new Response('// an older build')),
      { name: precacheName ?? '', url: stale },
    );

    harness.server.bumpWorkerVersion('v2');
    await page.evaluate(async () => (await navigator.serviceWorker.getRegistration())?.update());
    await page.waitForFunction(() => (window as UpdateWindow).__updateWaiting === true);
    // Installed but not in charge: no skipWaiting on install.
    expect(await workerScripts(page)).toMatchObject({ waiting: true });

    const reloaded = page.waitForEvent('load');
    await page.evaluate(() => (window as UpdateWindow).__outpost?.applyUpdate());
    await reloaded;
    await waitForApp(page);
    expect(await workerScripts(page)).toMatchObject({ waiting: false });
    // The new version kept the shell it shares with the old one and dropped what it does not list.
    expect(await cachedUrls(page)).toEqual(shell);

    const rows = await deliveries(page);
    expect(rows).toHaveLength(6);
    expect(rows.filter(({ state }) => state !== 'delivered')).toHaveLength(3);
    expect(await outbox(page)).toHaveLength(3);

    // The new worker restored the demo server's state and its fault switches from IndexedDB.
    const restored = await serverState(page);
    expect(restored.arrivals).toHaveLength(3);
    // The server heals; nobody touches the app: the schedule's next retry delivers the waiting order.
    await setFaults(page, { offline: false });
    const settled = await eventually(
      () => summaries(page),
      (all) => all.length === 2 && all.every((row) => row.status === 'confirmed'),
      { timeoutMs: 45_000 },
    );
    expect(new Set(settled.map((row) => row.orderNumber)).size).toBe(2);
    expect((await serverState(page)).arrivals).toHaveLength(6);
  });
});
