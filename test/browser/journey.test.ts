import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Outpost } from '../../src/app/outpost';
import {
  cspViolations,
  type Harness,
  newAppContext,
  openApp,
  startHarness,
  waitForApp,
} from './support/browser';
import {
  dismissToasts,
  nav,
  orderRow,
  takeOrder as takeOrderThroughForms,
  type UiOrderPlan,
} from './support/ui';

/**
 * Issue 5's journey, driven the way a person drives the app: by role and label, with the network really
 * off, a reload served by the service worker, the mock server refusing and then accepting, and a download.
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

const started = Date.now();
/** A line per step, so a failure in this long journey says where it was. */
const step = (what: string) =>
  console.log(`[journey ${((Date.now() - started) / 1000).toFixed(1)} s] ${what}`);

const screenshot = (page: Page, name: string) =>
  page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });

/** New order → add one product → place, all through the forms. */
async function takeOrder(page: Page, plan: UiOrderPlan, place = true): Promise<void> {
  step(`order for ${plan.customer}`);
  await takeOrderThroughForms(page, plan, place);
}

const ORDERS: readonly UiOrderPlan[] = [
  { customer: 'Harbour Café', sku: 'COF-ESP-1KG', productName: 'Espresso beans, 1 kg', quantity: 3 },
  {
    customer: 'Lighthouse Inn',
    sku: 'DISC-SYR-HAZ',
    productName: 'Hazelnut syrup, 750 ml (discontinued)',
    quantity: 2,
  },
  { customer: 'Quay Bakery', sku: 'MLK-OAT-1L', productName: 'Oat drink, 1 l', quantity: 12 },
];

describe('the order-entry journey in Chromium', () => {
  it('takes orders offline, keeps them over a reload, delivers them, recovers a dead entry and exports', async () => {
    const page = await openApp(context, `${harness.baseUrl}/#/orders`);
    page.setDefaultTimeout(20_000);
    await page.setViewportSize({ width: 1280, height: 900 });
    await page.getByRole('heading', { level: 1, name: 'Orders' }).waitFor();

    // Offline: every order is taken and placed with no network at all.
    step('offline orders');
    await context.setOffline(true);
    await expect.poll(() => page.getByText('Offline', { exact: true }).isVisible()).toBe(true);
    await nav(page, 'New order').click();
    await page.getByLabel('Customer name').waitFor();
    await screenshot(page, 'new-order-1280');
    for (const plan of ORDERS) await takeOrder(page, plan);

    await nav(page, 'Orders').click();
    for (const plan of ORDERS) {
      await expect.poll(() => orderRow(page, plan.customer).textContent()).toMatch(/Placed.*Saved on device/);
    }

    // A reload with the network off is served from the service worker's precache; the orders are still there.
    step('offline reload');
    await page.reload();
    await waitForApp(page);
    await page.getByRole('heading', { level: 1, name: 'Orders' }).waitFor();
    await expect.poll(() => page.getByRole('list', { name: 'Orders' }).getByRole('listitem').count()).toBe(3);
    await screenshot(page, 'orders-offline-1280');

    // Back online: the outbox drains and the server decides each order.
    step('back online');
    await context.setOffline(false);
    await expect
      .poll(() => orderRow(page, 'Harbour Café').textContent(), LONG)
      .toMatch(/Confirmed SO-\d{6}.*Delivered/);
    await expect.poll(() => orderRow(page, 'Quay Bakery').textContent(), LONG).toMatch(/Confirmed SO-\d{6}/);
    await expect
      .poll(() => orderRow(page, 'Lighthouse Inn').textContent(), LONG)
      .toMatch(/Rejected: .*discontinued/i);
    await page.getByRole('status').filter({ hasText: 'Order rejected' }).waitFor(LONG);
    await screenshot(page, 'orders-list-1280');
    await dismissToasts(page);

    // A server that refuses large pushes turns the next order's first event into a dead entry.
    step('dead entry');
    await page.getByText('Demo controls (mock server faults)').click();
    await page.getByLabel('Refuse pushes larger than (bytes)').fill('64');
    await page.getByRole('button', { name: 'Apply limit' }).click();
    await takeOrder(
      page,
      { customer: 'Tide Pool Kiosk', sku: 'TEA-GRN-100', productName: 'Green tea, 100 bags', quantity: 4 },
      false,
    );
    await page.getByRole('note').filter({ hasText: 'Held back' }).waitFor(LONG);

    await nav(page, 'Outbox').click();
    const retry = page.getByRole('button', { name: 'Retry OrderCreated v1' });
    await retry.waitFor(LONG);
    await expect(
      page
        .getByRole('cell', { name: /too_large/ })
        .first()
        .isVisible(),
    ).resolves.toBe(true);
    await screenshot(page, 'outbox-dead-1280');

    // The mock stops refusing; the person retries after confirming, and the order goes through.
    step('retry');
    await page.getByLabel('Refuse pushes larger than (bytes)').fill('');
    await page.getByRole('button', { name: 'Apply limit' }).click();
    await page.getByText('Demo controls (mock server faults)').click();
    await dismissToasts(page);
    await retry.click();
    const dialog = page.getByRole('dialog', { name: 'Retry OrderCreated v1?' });
    await dialog.getByRole('button', { name: 'Retry entry' }).click();
    await page.getByText('No dead entries.').waitFor(LONG);
    step('dead entry back in the queue');
    await expect
      .poll(() => page.getByRole('region', { name: 'Sync status' }).textContent(), LONG)
      .toContain('Unsent 0');

    step('queue drained');
    await dismissToasts(page);
    await nav(page, 'Orders').click();
    await orderRow(page, 'Tide Pool Kiosk').getByRole('link').click();
    await page.getByRole('button', { name: 'Place order' }).click();
    await expect
      .poll(() => page.locator('.stream-screen__badges').textContent(), LONG)
      .toMatch(/Confirmed SO-\d{6}/);
    await expect
      .poll(() => page.getByRole('list', { name: 'Timeline' }).textContent(), LONG)
      .toMatch(/OrderConfirmed/);
    await page.getByRole('status').filter({ hasText: "Tide Pool Kiosk's order was confirmed" }).waitFor(LONG);
    await dismissToasts(page);
    await screenshot(page, 'order-detail-1280');

    // Export: a JSON file with the event store and the outbox, through a real download.
    step('export');
    await nav(page, 'Outbox').click();
    const download = page.waitForEvent('download');
    await page.getByRole('button', { name: 'Export outbox and events' }).click();
    const file = await download;
    expect(file.suggestedFilename()).toMatch(/^outpost-backup-.*\.json$/);
    const backup = JSON.parse(await readFile((await file.path()) as string, 'utf8')) as {
      clientId: string;
      events: { type: string; streamId: string }[];
      outbox: { status: string }[];
    };
    const types = backup.events.map((event) => event.type);
    expect(types.filter((type) => type === 'OrderPlaced')).toHaveLength(4);
    expect(types.filter((type) => type === 'OrderConfirmed')).toHaveLength(3);
    expect(types.filter((type) => type === 'OrderRejected')).toHaveLength(1);
    expect(new Set(backup.events.map((event) => event.streamId)).size).toBe(4);
    // Delivered rows are deleted with the answer: an empty outbox means the server has everything.
    expect(backup.outbox).toEqual([]);
    await screenshot(page, 'outbox-1280');

    await dismissToasts(page);
    await nav(page, 'Insights').click();
    await page.getByRole('img', { name: /4 placed, 3 confirmed, 1 rejected/ }).waitFor(LONG);
    await screenshot(page, 'insights-1280');

    await page.setViewportSize({ width: 360, height: 780 });
    await nav(page, 'Orders').click();
    await orderRow(page, 'Harbour Café').getByRole('link').click();
    await page.getByRole('heading', { level: 1, name: 'Harbour Café' }).waitFor();
    await screenshot(page, 'order-detail-360');
    await nav(page, 'Orders').click();
    await screenshot(page, 'orders-list-360');
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    // Every screen above ran under the built page's policy (own origin only): nothing was blocked.
    expect(
      await page.evaluate(() =>
        document.querySelector('meta[http-equiv="Content-Security-Policy"]')?.getAttribute('content'),
      ),
    ).toMatch(/default-src 'self'/);
    expect(await cspViolations(page)).toEqual([]);
  }, 150_000);

  it('scrolls 10,000 orders while keeping only the visible rows in the page', async () => {
    const bulk = await newAppContext(harness.browser);
    try {
      const page = await openApp(bulk, `${harness.baseUrl}/#/orders`);
      page.setDefaultTimeout(20_000);
      await page.setViewportSize({ width: 1280, height: 900 });
      // Read-model rows only: this is about the list, so the fixture skips the command path (10,000 orders
      // through it are the benchmarks' job).
      await page.evaluate(async () => {
        const outpost = (window as { __outpost?: Outpost }).__outpost;
        if (!outpost) throw new Error('app not ready');
        const at = new Date(Date.UTC(2026, 10, 26, 9)).toISOString();
        const rows = Array.from({ length: 10_000 }, (_, index) => {
          const name = `Customer ${String(index).padStart(5, '0')}`;
          return {
            id: `01900000-0000-7000-8000-${String(index).padStart(12, '0')}`,
            customerName: name,
            customerKey: name.toLowerCase(),
            currency: 'EUR',
            status: index % 7 === 0 ? ('rejected' as const) : ('confirmed' as const),
            lineCount: 1,
            total: 1000 + index,
            orderNumber: `SO-${String(index + 1).padStart(6, '0')}`,
            rejection: index % 7 === 0 ? { code: 'credit_limit', reason: 'Over the credit limit' } : null,
            cancellationReason: null,
            version: 3,
            createdAt: at,
            updatedAt: at,
          };
        });
        // No delivery rows: a stream without one reads as delivered. The list's totals are the counter rows
        // the projections keep (src/orders/order-counters.ts); rows written by hand need theirs by hand.
        const rejected = rows.filter((row) => row.status === 'rejected').length;
        await outpost.db.transaction('rw', ['orders', 'orderCounts'], async () => {
          await outpost.db.table('orders').bulkPut(rows);
          await outpost.db.table('orderCounts').bulkPut([
            { id: 'all', count: rows.length },
            { id: 'status:confirmed', count: rows.length - rejected },
            { id: 'status:rejected', count: rejected },
          ]);
        });
      });
      const list = page.getByRole('list', { name: 'Orders' });
      const listed = Date.now();
      await page.getByText('10,000 orders').waitFor();
      await expect.poll(() => list.getByRole('listitem').first().textContent()).toContain('Customer 09999');
      expect(await list.getByRole('listitem').count()).toBeLessThan(60);

      step(
        `10,000 rows counted and first page shown ${Date.now() - listed} ms after the write (not asserted)`,
      );
      await screenshot(page, 'orders-10000-1280');
      const scrolled = Date.now();
      await page.locator('.orders__scroller').evaluate((element) => {
        element.scrollTop = element.scrollHeight;
      });
      await expect
        .poll(() => list.locator('[aria-posinset="10000"]').textContent())
        .toContain('Customer 00000');
      step(`last row shown ${Date.now() - scrolled} ms after jumping to the end (not asserted)`);
      expect(await list.getByRole('listitem').count()).toBeLessThan(60);

      await page.getByLabel('Status', { exact: true }).selectOption('rejected');
      await page.getByText('1,429 orders').waitFor();
      await page.getByLabel('Search customer').fill('customer 0999');
      await page.getByText('1 order', { exact: true }).waitFor();
      // The count and the page of rows are separate live queries: the row may still say "Loading…".
      await expect
        .poll(() => list.getByRole('listitem').allTextContents())
        .toEqual([expect.stringContaining('Customer 09996')]);
    } finally {
      await bulk.close();
    }
  }, 120_000);
});
