import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { installFlushRecorder, recordedFlushes, workerInControl } from './browser';
import { readDevice } from './device';
import { describeFlushes, type Observer } from './liveness';
import type { UiOrderPlan } from './ui';

/**
 * Firefox, the browser the fallback exists for (no Background Sync): Debian's firefox-esr driven by
 * puppeteer-core over WebDriver BiDi (Playwright cannot drive a stock Firefox). The same person at the same
 * screens as `ui.ts`, found by role and accessible name through puppeteer's `::-p-aria` selectors.
 */

export const FIREFOX_PATH = process.env.FIREFOX_PATH ?? '/usr/bin/firefox-esr';

export function launchFirefox(): Promise<Browser> {
  return puppeteer.launch({ browser: 'firefox', executablePath: FIREFOX_PATH, headless: true });
}

/** A selector for the element with this ARIA role and accessible name. */
export const byRole = (role: string, name: string): string =>
  `::-p-aria([name=${JSON.stringify(name)}][role=${JSON.stringify(role)}])`;

/**
 * A fresh tab that copies the app's flush reports and the `online`/`offline` events its documents receive
 * (for failure messages) from before the app loads.
 */
export async function newFirefoxPage(browser: Browser): Promise<Page> {
  const page = await browser.newPage();
  // Playwright's default screen, so both browsers lay the app out alike (at puppeteer's 800×600 the toasts
  // sit over the "Add to order" button, and puppeteer, unlike Playwright, clicks whatever is on top).
  await page.setViewport({ width: 1280, height: 720 });
  page.setDefaultTimeout(20_000);
  page.on('pageerror', (error) => console.error(`[firefox page error] ${String(error)}`));
  await page.evaluateOnNewDocument(installFlushRecorder);
  await page.evaluateOnNewDocument(() => {
    const w = window as Window & { __connectivity?: string[] };
    w.__connectivity = [`loaded ${navigator.onLine ? 'online' : 'offline'}`];
    for (const type of ['online', 'offline']) {
      window.addEventListener(type, () => w.__connectivity?.push(type));
    }
  });
  return page;
}

/** Opens `url` and waits until the service worker controls the page and the Orders screen is up. */
export async function openAppInFirefox(page: Page, url: string): Promise<void> {
  await page.goto(url);
  await page.evaluate(workerInControl);
  await page.locator(byRole('heading', 'Orders')).wait();
}

/**
 * New order → add one product → place, through the forms, as `takeOrder` does in Chromium. Below the navigation
 * it works from the keyboard (Enter in a field, Enter on a button): decisions on earlier orders arrive while
 * it types, each a line of toasts that moves the page down, and a pointer's click aimed before that lands
 * beside its button.
 */
export async function takeOrderInFirefox(page: Page, plan: UiOrderPlan): Promise<void> {
  await page.locator(`nav[aria-label="Main"] ${byRole('link', 'New order')}`).click();
  await page.locator(byRole('textbox', 'Customer name')).fill(plan.customer);
  await page.keyboard.press('Enter');
  await page.locator(byRole('heading', plan.customer)).wait();
  await page.locator(byRole('combobox', 'Product')).fill(plan.sku);
  await page.locator(byRole('spinbutton', 'Quantity')).fill(String(plan.quantity));
  await page.keyboard.press('Enter');
  await page.locator(byRole('spinbutton', `Quantity of ${plan.productName}`)).wait();
  const place = await page.locator(byRole('button', 'Place order')).waitHandle();
  await place.focus();
  await page.keyboard.press('Enter');
  // The order's status badge: placed, or already decided (the page flushes at once in Firefox's fallback
  // mode, so the server's confirmation can replace "Placed" before a poll sees it).
  try {
    await page.waitForFunction(
      () =>
        /^(Placed|Confirmed|Rejected)/.test(
          document.querySelector('.stream-screen__badges')?.textContent ?? '',
        ),
      { timeout: 20_000 },
    );
  } catch (error) {
    // Say what the screen showed instead: a lost click and a slow decision look alike otherwise.
    const shown = await page.evaluate(() => ({
      badges: document.querySelector('.stream-screen__badges')?.textContent,
      alerts: Array.from(document.querySelectorAll('[role="alert"]'), (alert) => alert.textContent),
    }));
    throw new Error(`The order was not placed: ${JSON.stringify(shown)}`, { cause: error });
  }
}

/** The "Sync status" region's items, joined with " | ". */
export const firefoxStatusText = (page: Page): Promise<string> =>
  page
    .locator(byRole('region', 'Sync status'))
    .map((region) => Array.from(region.children, (item) => item.textContent ?? '').join(' | '))
    .wait();

/** Watching only, as `pageObserver` does in Chromium. */
export function firefoxObserver(page: Page): Observer {
  return {
    device: () => page.evaluate(readDevice),
    statusText: () => firefoxStatusText(page),
    async diagnostics() {
      const connectivity = await page.evaluate(() => ({
        onLine: navigator.onLine,
        events: (window as Window & { __connectivity?: string[] }).__connectivity ?? [],
      }));
      return `${describeFlushes(await page.evaluate(recordedFlushes))}, connectivity ${JSON.stringify(connectivity)}`;
    },
  };
}
