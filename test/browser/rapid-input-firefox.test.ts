import type { Browser, Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Outpost } from '../../src/app/outpost';
import { catalog, isDiscontinued } from '../../src/catalog/products';
import { buildDemoOnce } from './support/build-demo';
import { byRole, launchFirefox, newFirefoxPage, openAppInFirefox } from './support/firefox';
import { type StaticServer, serveStatic } from './support/static-server';

/**
 * Issue 12, item 6 in Firefox (Debian's firefox-esr driven by puppeteer-core over WebDriver BiDi): 20 lines
 * entered back to back through the order screen of the demo build, none waiting for the one before.
 */

const LINES = catalog.filter((product) => !isDiscontinued(product.sku)).slice(0, 20);

let server: StaticServer;
let browser: Browser;

beforeAll(async () => {
  server = await serveStatic(buildDemoOnce());
  browser = await launchFirefox();
});

afterAll(async () => {
  await browser?.close().catch(() => undefined);
  await server?.close().catch(() => undefined);
});

const storedLines = (page: Page, orderId: string) =>
  page.evaluate(async (id) => {
    const outpost = (window as Window & { __outpost?: Outpost }).__outpost;
    if (!outpost) throw new Error('app not ready');
    const events = await outpost.db.events.where('streamId').equals(`order-${id}`).sortBy('version');
    return events
      .filter((event) => event.type === 'ProductAdded')
      .map((event) => {
        const { sku, quantity } = event.data as { sku: string; quantity: number };
        return { sku, quantity };
      });
  }, orderId);

const linesOnScreen = (page: Page) =>
  page.$$eval('table tbody tr', (rows) =>
    rows.map((row) => ({
      sku: row.querySelector('.sku')?.textContent ?? '',
      quantity: Number(row.querySelector('input')?.value),
    })),
  );

/**
 * In the page, as fast as events can be dispatched: each line's product and quantity set the way a person's
 * input sets them (the native value setter, then the event React listens to), then "Add to order" clicked.
 * Puppeteer's own actions over BiDi each take longer than a command takes to commit, so driven by them the
 * lines never overlap and the old hook lost none; dispatched here, it kept 1 of 20.
 */
function enterLines(lines: readonly { sku: string; quantity: number }[]) {
  const form = document.querySelector('form[aria-labelledby="add-product-heading"]');
  const product = form?.querySelector('input[role="combobox"]');
  const quantity = form?.querySelector('input[type="number"]');
  const add = form?.querySelector<HTMLButtonElement>('button[type="submit"]');
  if (!(product instanceof HTMLInputElement) || !(quantity instanceof HTMLInputElement) || !add) {
    throw new Error('no add-product form');
  }
  const setValue = (element: HTMLInputElement, value: string) => {
    const prototype = Object.getPrototypeOf(element) as object;
    Object.getOwnPropertyDescriptor(prototype, 'value')?.set?.call(element, value);
    element.dispatchEvent(new Event('input', { bubbles: true }));
  };
  for (const line of lines) {
    setValue(product, line.sku);
    setValue(quantity, String(line.quantity));
    add.click();
  }
}

async function openNewOrder(page: Page, customer: string): Promise<string> {
  await openAppInFirefox(page, `${server.url}/#/orders`);
  await page.locator(`nav[aria-label="Main"] ${byRole('link', 'New order')}`).click();
  await page.locator(byRole('textbox', 'Customer name')).fill(customer);
  await page.locator(byRole('button', 'Create order')).click();
  await page.locator(byRole('heading', customer)).wait();
  await page.locator('form[aria-labelledby="add-product-heading"]').wait();
  const orderId = /#\/orders\/([0-9a-f-]+)$/.exec(page.url())?.[1];
  if (!orderId) throw new Error(`not on an order screen: ${page.url()}`);
  return orderId;
}

describe('order entry at machine speed in Firefox', () => {
  it('keeps every one of 20 lines entered back to back, in the order they were entered, on screen', async () => {
    const page = await newFirefoxPage(browser);
    const orderId = await openNewOrder(page, 'Firefox Fonda');
    const expected = LINES.map((line, index) => ({ sku: line.sku, quantity: index + 1 }));
    await page.evaluate(enterLines, expected);

    await expect.poll(() => storedLines(page, orderId), { timeout: 20_000 }).toEqual(expected);
    await expect.poll(() => linesOnScreen(page), { timeout: 20_000 }).toEqual(expected);
    expect(await page.$$eval('[role="alert"], [aria-invalid="true"]', (found) => found.length)).toBe(0);
  });
});
