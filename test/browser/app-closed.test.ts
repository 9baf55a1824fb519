import type { BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newAppContext, waitForWorker } from './support/browser';
import { type ReferenceHarness, startReferenceHarness } from './support/reference-server';
import { nav, orderRow, takeOrder } from './support/ui';

/**
 * With no page of the app open nothing holds a timer, and the one-off Background Sync registration is the
 * only way the worker hears that the network is back. Orders written offline, the last tab closed, the
 * network back: the worker alone delivers them, exactly once.
 */

let harness: ReferenceHarness;
let context: BrowserContext | null = null;

beforeAll(async () => {
  harness = await startReferenceHarness();
});

afterAll(async () => {
  await context?.close().catch(() => undefined);
  await harness?.close();
});

describe('the app closed', () => {
  it('delivers orders written offline once the network returns, with every tab closed', async () => {
    const server = await harness.startServer();
    context = await newAppContext(harness.browser);
    const page = await context.newPage();
    page.setDefaultTimeout(20_000);
    await page.goto(`${server.origin}/#/orders`);
    await waitForWorker(page);
    await page.getByRole('heading', { level: 1, name: 'Orders' }).waitFor();

    await context.setOffline(true);
    for (const customer of ['Harbour Café', 'Quay Bakery']) {
      await takeOrder(page, {
        customer,
        sku: 'COF-ESP-1KG',
        productName: 'Espresso beans, 1 kg',
        quantity: 1,
      });
    }
    await nav(page, 'Orders').click();
    await expect.poll(() => orderRow(page, 'Quay Bakery').textContent()).toMatch(/Saved on device/);
    const tags = await page.evaluate(async () => {
      const registration = (await navigator.serviceWorker.ready) as ServiceWorkerRegistration & {
        sync: { getTags(): Promise<string[]> };
      };
      return registration.sync.getTags();
    });
    expect(tags).toEqual(['outpost-outbox']);
    await page.close();
    expect(context.pages()).toEqual([]);
    expect((await server.stats()).eventsStored).toBe(0);

    await context.setOffline(false);
    await expect.poll(async () => (await server.stats()).eventsStored, { timeout: 30_000 }).toBe(6);
    expect(context.pages()).toEqual([]);
    expect(await server.stats()).toMatchObject({
      eventsStored: 6,
      serverEventsByType: { OrderConfirmed: 2 },
    });
  });
});
