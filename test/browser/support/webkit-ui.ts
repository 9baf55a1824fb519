import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { installFlushRecorder, recordedFlushes, workerInControl } from './browser';
import { readDevice } from './device';
import { describeFlushes, type Observer } from './liveness';
import type { UiOrderPlan } from './ui';
import type { Target, WebKitPage } from './webkit';

/**
 * The same person at the same screens as `ui.ts` (Chromium) and `firefox.ts`, in WebKit: found by role and
 * accessible name, clicked and typed into through WebDriver.
 */

const MAIN_NAV = 'nav[aria-label="Main"]';
export const navLink = (name: string): Target => ({ role: 'link', name, within: MAIN_NAV });

/**
 * Opens `url` and waits until the service worker controls the page and the Orders screen is up. WebDriver has
 * no script to run before a document loads, so the flush recorder starts listening here, after the load:
 * it only feeds failure messages.
 */
export async function openAppInWebKit(page: WebKitPage, url: string): Promise<void> {
  await page.goto(url);
  await page.evaluate(workerInControl);
  await page.waitFor({ role: 'heading', name: 'Orders' });
  await page.evaluate(installFlushRecorder);
}

/** New order → add one product → place, through the forms, as `takeOrder` does in Chromium. */
export async function takeOrderInWebKit(page: WebKitPage, plan: UiOrderPlan): Promise<void> {
  try {
    await page.click(navLink('New order'));
    await page.fill({ role: 'field', name: 'Customer name' }, plan.customer);
    await page.click({ role: 'button', name: 'Create order' });
    await page.waitFor({ role: 'heading', name: plan.customer });
    // The product search, typed as a scanner would: its code resolves to the product when the line is added.
    await page.fill({ role: 'field', name: 'Product' }, plan.sku);
    await page.fill({ role: 'field', name: 'Quantity' }, String(plan.quantity));
    await page.click({ role: 'button', name: 'Add to order' });
    await page.waitFor({ role: 'field', name: `Quantity of ${plan.productName}` });
    await page.click({ role: 'button', name: 'Place order' });
    // Placed, or already decided: the page flushes at once in the fallback, so the server's decision can
    // replace "Placed" before a poll sees it.
    await page.waitUntil(
      () =>
        /^(Placed|Confirmed|Rejected)/.test(
          document.querySelector('.stream-screen__badges')?.textContent ?? '',
        ),
      `the order of ${plan.customer} placed`,
    );
  } catch (error) {
    throw await whatTheScreenShowed(page, `The order of ${plan.customer} was not taken`, error);
  }
}

/**
 * A failed step's error with what the screen showed (a lost click, a refused form and a slow answer look
 * alike otherwise) and a screenshot in the temp folder.
 */
async function whatTheScreenShowed(page: WebKitPage, what: string, cause: unknown): Promise<Error> {
  try {
    const file = join(mkdtempSync(join(tmpdir(), 'outpost-webkit-')), 'failure.png');
    writeFileSync(file, await page.screenshot());
    const shown = await page.evaluate(() => ({
      heading: document.querySelector('h1')?.textContent,
      badges: document.querySelector('.stream-screen__badges')?.textContent,
      fields: Array.from(
        document.querySelectorAll('input, select'),
        (field) => (field as HTMLInputElement).value,
      ),
      errors: Array.from(
        document.querySelectorAll('[role="alert"], .field__error'),
        (alert) => alert.textContent,
      ),
      focused: document.activeElement?.outerHTML.slice(0, 160),
    }));
    return new Error(`${what}; the screen showed ${JSON.stringify(shown)}; screenshot ${file}`, { cause });
  } catch {
    return new Error(what, { cause });
  }
}

/** In-page: the "Sync status" region's items, joined with " | ", as the other engines' observers read it. */
export function readStatusText(): string {
  const region = document.querySelector('section[aria-label="Sync status"]');
  return region ? Array.from(region.children, (item) => item.textContent ?? '').join(' | ') : '';
}

/** Watching only, as `pageObserver` does in Chromium. */
export function webkitObserver(page: WebKitPage): Observer {
  return {
    device: () => page.evaluate(readDevice),
    statusText: () => page.evaluate(readStatusText),
    async diagnostics() {
      const onLine = await page.evaluate(() => navigator.onLine);
      return `${describeFlushes(await page.evaluate(recordedFlushes))} since the page loaded, onLine ${onLine}`;
    },
  };
}
