import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Outpost } from '../../src/app/outpost';
import { type ConsoleWatch, seriousViolations, watchConsole } from './support/audit';
import { type Harness, newAppContext, openApp, startHarness } from './support/browser';

/**
 * Issue 23: a whole order taken with the keyboard alone, at a counter with no mouse: the navigation, the
 * new-order form, three lines through the product search, placing, and the outbox inspector. The page counts
 * every pointer event it receives, and there must be none.
 */

const ARTIFACTS = join(import.meta.dirname, 'artifacts');

let harness: Harness;
let context: BrowserContext;
let consoleWatch: ConsoleWatch;

beforeAll(async () => {
  harness = await startHarness();
  context = await newAppContext(harness.browser);
  consoleWatch = watchConsole(context);
  await context.addInitScript(() => {
    const counts = { pointer: 0 };
    (window as Window & { __pointerEvents?: typeof counts }).__pointerEvents = counts;
    for (const type of ['pointerdown', 'mousedown', 'pointerup', 'mouseup', 'dblclick']) {
      window.addEventListener(type, () => counts.pointer++, true);
    }
  });
});

afterAll(async () => {
  await context?.close().catch(() => undefined);
  await harness?.close();
});

/** The focused element's accessible-ish name: its label, its text, or its aria-label. */
const focusedName = (page: Page) =>
  page.evaluate(() => {
    const element = document.activeElement as HTMLElement | null;
    if (!element) return '';
    const labelled = element.id ? document.querySelector(`label[for="${element.id}"]`)?.textContent : null;
    return (labelled ?? element.getAttribute('aria-label') ?? element.textContent ?? '').trim();
  });

/** Presses Tab (or Shift+Tab) until the focus is on `name`, as a person tabbing through the page. */
async function tabTo(page: Page, name: string | RegExp, key: 'Tab' | 'Shift+Tab' = 'Tab'): Promise<void> {
  for (let presses = 0; presses < 40; presses++) {
    await page.keyboard.press(key);
    const focused = await focusedName(page);
    if (typeof name === 'string' ? focused === name : name.test(focused)) return;
  }
  throw new Error(`Tab never reached ${name}`);
}

const storedLines = (page: Page) =>
  page.evaluate(async () => {
    const outpost = (window as Window & { __outpost?: Outpost }).__outpost;
    if (!outpost) throw new Error('app not ready');
    const events = await outpost.db.events.orderBy('position').toArray();
    return events
      .filter((event) => event.type === 'ProductAdded')
      .map((event) => {
        const { sku, quantity } = event.data as { sku: string; quantity: number };
        return `${quantity} × ${sku}`;
      });
  });

describe('a keyboard-only journey in Chromium', () => {
  it('creates an order with three lines, places it and opens the outbox inspector, with no pointer event', async () => {
    const page = await openApp(context, `${harness.baseUrl}/#/orders`);
    page.setDefaultTimeout(20_000);
    await page.setViewportSize({ width: 1280, height: 900 });
    await page.getByRole('heading', { level: 1, name: 'Orders' }).waitFor();

    await tabTo(page, 'New order');
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { level: 1, name: 'New order' }).waitFor();
    await tabTo(page, 'Customer name');
    await page.keyboard.type('Keyboard Kitchen');
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { level: 1, name: 'Keyboard Kitchen' }).waitFor();

    // Three lines: by name with the quantity beside it, by name with Enter, by code as a scanner would.
    await tabTo(page, 'Product');
    await page.keyboard.type('espresso');
    await page.keyboard.press('Tab');
    expect(await focusedName(page)).toBe('Quantity');
    await page.keyboard.press('ArrowUp');
    await page.keyboard.press('ArrowUp');
    await page.keyboard.press('Enter');
    expect(await focusedName(page)).toBe('Product');
    // "milk" finds three products, two of them first by name; the arrow picks the second.
    await page.keyboard.type('milk');
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('Enter');
    await page.keyboard.type('SUG-CUB-1KG');
    await page.keyboard.press('Enter');
    await expect
      .poll(() => storedLines(page))
      .toEqual(['3 × COF-ESP-1KG', '1 × JUG-STL-600', '1 × SUG-CUB-1KG']);
    // The entry screen as README shows it: the lines so far, and the search open on its next product.
    await page.keyboard.type('tea');
    await page.getByRole('option', { name: /Green tea/ }).waitFor();
    await page.screenshot({ path: join(ARTIFACTS, 'order-entry-1280.png') });
    expect(await seriousViolations(page)).toEqual([]);
    await page.keyboard.press('Escape');
    await page.keyboard.press('Escape');

    await tabTo(page, 'Place order');
    await page.keyboard.press('Enter');
    await expect
      .poll(() => page.locator('.stream-screen__badges').textContent())
      .toMatch(/^(Placed|Confirmed)/);

    // Back up the page to the navigation, and to the outbox.
    await tabTo(page, 'Outbox', 'Shift+Tab');
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { level: 1, name: 'Outbox' }).waitFor();
    expect(await seriousViolations(page)).toEqual([]);

    const pointerEvents = await page.evaluate(
      () => (window as Window & { __pointerEvents?: { pointer: number } }).__pointerEvents?.pointer,
    );
    expect(pointerEvents).toBe(0);
    expect(consoleWatch.unexpected()).toEqual([]);
  }, 60_000);
});
