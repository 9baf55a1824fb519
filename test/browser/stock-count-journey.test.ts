import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seriousViolations } from './support/audit';
import { type Harness, newAppContext, openApp, serverState, startHarness } from './support/browser';
import { countRow, nav, orderRow, takeCount, takeOrder } from './support/ui';

/**
 * The second stream type in the same app, driven through its screens: counts taken in a stockroom with no
 * network, an order taken beside them, and after the network returns nobody touches anything. Counts and
 * the order share one outbox and one schedule; each is delivered once and each gets its own decision.
 */

const ARTIFACTS = join(import.meta.dirname, 'artifacts');
const LONG = { timeout: 45_000 };

let harness: Harness;
let context: BrowserContext;

beforeAll(async () => {
  harness = await startHarness();
  context = await newAppContext(harness.browser);
});

afterAll(async () => {
  await context?.close().catch(() => undefined);
  await harness?.close();
});

const screenshot = (page: Page, name: string) =>
  page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });

/** Five lines, each within the server's tolerance of the stockroom's expected stock. */
const ACCURATE = {
  location: 'WH-01',
  lines: [
    ['COF-ESP-1KG', 480],
    ['COF-FLT-500', 359],
    ['TEA-GRN-100', 200],
    ['MLK-OAT-1L', 718],
    ['SUG-CUB-1KG', 200],
  ],
} as const;

/** The kiosk expects 14 boxes of black tea; 3 counted is off by far more than the tolerance. */
const DISCREPANT = {
  location: 'STORE-02',
  lines: [
    ['COF-ESP-1KG', 16],
    ['TEA-BLK-100', 3],
  ],
} as const;

describe('stock counts taken offline beside an order', () => {
  it('are delivered once each when the network returns, and the server accepts one and rejects the other', async () => {
    const page = await openApp(context, `${harness.baseUrl}/#/counts`);
    page.setDefaultTimeout(20_000);
    await page.setViewportSize({ width: 1280, height: 900 });
    await page.getByRole('heading', { level: 1, name: 'Stock counts' }).waitFor();

    await context.setOffline(true);
    await expect.poll(() => page.getByText('Offline', { exact: true }).isVisible()).toBe(true);
    await takeCount(page, ACCURATE);
    await takeCount(page, DISCREPANT);
    await takeOrder(page, {
      customer: 'Harbour Café',
      sku: 'COF-ESP-1KG',
      productName: 'Espresso beans, 1 kg',
      quantity: 3,
    });

    await nav(page, 'Stock counts').click();
    for (const { location } of [ACCURATE, DISCREPANT]) {
      await expect.poll(() => countRow(page, location).textContent()).toMatch(/Submitted.*Saved on device/);
    }
    await screenshot(page, 'stock-counts-offline-1280');

    // Back online, and from here on nobody touches the app until everything is decided: nothing asks it to
    // send, nothing reloads it, nobody navigates.
    await context.setOffline(false);
    await expect
      .poll(() => countRow(page, ACCURATE.location).textContent(), LONG)
      .toMatch(/Accepted SC-\d{6}.*Delivered/);
    await expect
      .poll(() => countRow(page, DISCREPANT.location).textContent(), LONG)
      .toMatch(/Rejected: recount 1 product.*Delivered/);
    await page.getByRole('status').filter({ hasText: 'Stock count rejected' }).waitFor(LONG);
    await screenshot(page, 'stock-counts-decided-1280');

    // Each event reached the server exactly once: 7 of the accurate count, 4 of the other, 3 of the order.
    const server = await serverState(page);
    expect(server.arrivals).toHaveLength(14);
    expect(new Set(server.arrivals.map((arrival) => arrival.eventId)).size).toBe(14);

    // Now the person looks: the order is confirmed, the rejected count names the product to recount.
    await nav(page, 'Orders').click();
    await expect.poll(() => orderRow(page, 'Harbour Café').textContent(), LONG).toMatch(/Confirmed SO-\d{6}/);
    await nav(page, 'Stock counts').click();
    await countRow(page, DISCREPANT.location).getByRole('link').click();
    await page.getByRole('note').filter({ hasText: 'Rejected:' }).waitFor();
    const recount = page.getByRole('row').filter({ hasText: 'TEA-BLK-100' });
    await expect.poll(() => recount.textContent()).toMatch(/Recount/);
    expect(await page.getByRole('row').filter({ hasText: 'COF-ESP-1KG' }).textContent()).not.toMatch(
      /Recount/,
    );
    await expect
      .poll(() => page.getByRole('button', { name: 'Start a new count of STORE-02' }).isVisible())
      .toBe(true);
    await screenshot(page, 'stock-count-rejected-1280');
    // The count sheet, checked by the accessibility engine at both widths like the order journey's screens.
    expect(await seriousViolations(page)).toEqual([]);
    await page.setViewportSize({ width: 360, height: 740 });
    await screenshot(page, 'stock-count-rejected-360');
    expect(await seriousViolations(page)).toEqual([]);
  });
});
