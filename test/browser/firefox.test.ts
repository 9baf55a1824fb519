import type { Browser, Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { workerInControl } from './support/browser';
import { readDevice } from './support/device';
import { type FaultProxy, startFaultProxy } from './support/fault-proxy';
import {
  byRole,
  firefoxObserver,
  firefoxStatusText,
  launchFirefox,
  newFirefoxPage,
  openAppInFirefox,
  takeOrderInFirefox,
} from './support/firefox';
import {
  EVENTS_PER_ORDER,
  FAULTS_LEFT_ON_MS,
  FLAKY,
  FLAKY_ORDERS,
  healAndExpectDrained,
  leaveAlone,
  orderPlans,
} from './support/liveness';
import { expectPersistenceShown, readPersistenceShown, settledPersistence } from './support/persistence';
import {
  type ReferenceServer,
  type ReferenceServers,
  startReferenceServers,
} from './support/reference-server';

/**
 * Issue 11 in Firefox, which has no Background Sync: the fallback is all its users get. The production build
 * on the reference server (behind the fault proxy) in Debian's firefox-esr, driven by puppeteer-core over
 * WebDriver BiDi, orders entered through the UI, and then nobody touches the app.
 *
 * "Offline" here is two things at once, because neither alone is the network gone:
 * - BiDi's network emulation (`page.setOfflineMode`) takes the page offline: `navigator.onLine` is false, the
 *   page's requests fail and it receives `offline`. It does not reach the service worker (whose requests still
 *   went out in a probe on Firefox 153), so
 * - the proxy's outage makes the server unreachable for every context, the worker included. A reload that
 *   shows the app can then only have come from the worker's precache.
 */

const OFFLINE_ORDERS = 3;
/** The outage the Chromium and WebKit suites measure too: the server unreachable, the browser online. */
const OUTAGE_MS = 20_000;
const OUTAGE_ORDERS = 5;

let servers: ReferenceServers;
let browser: Browser;
const proxies: FaultProxy[] = [];

beforeAll(async () => {
  servers = startReferenceServers();
  browser = await launchFirefox();
});

afterAll(async () => {
  await browser?.close().catch(() => undefined);
  for (const proxy of proxies) await proxy.close().catch(() => undefined);
  await servers?.close();
});

async function openBehindProxy(
  seed: number,
): Promise<{ server: ReferenceServer; proxy: FaultProxy; page: Page }> {
  const server = await servers.startServer({ behindProxy: true });
  const proxy = await startFaultProxy({ upstream: server.origin, seed });
  proxies.push(proxy);
  const page = await newFirefoxPage(browser);
  await openAppInFirefox(page, `${proxy.origin}/#/orders`);
  // No SyncManager in Firefox: the app picks the fallback by itself, no query string needed.
  await expect.poll(() => firefoxStatusText(page)).toContain('Driven by Fallback timer');
  return { server, proxy, page };
}

describe('liveness in Firefox (fallback only), nobody touching it', () => {
  it('keeps orders taken offline over an offline reload and delivers each once when the network returns', async () => {
    const { server, proxy, page } = await openBehindProxy(55);
    proxy.set({ outage: true });
    await page.setOfflineMode(true);
    await expect.poll(() => firefoxStatusText(page)).toMatch(/^Offline/);
    for (const plan of orderPlans(OFFLINE_ORDERS, 'Offline')) await takeOrderInFirefox(page, plan);

    // The first order made the app ask Firefox to keep the data, and Firefox asks the person: the Outbox
    // screen says so, and that the data may be cleared until they allow it.
    await page.locator(`nav[aria-label="Main"] ${byRole('link', 'Outbox')}`).click();
    await page.locator(byRole('heading', 'Keeping the data on this device')).wait();
    const shown = await settledPersistence(() => page.evaluate(readPersistenceShown), {
      questionWaits: true,
    });
    expectPersistenceShown('Firefox', shown, OFFLINE_ORDERS * EVENTS_PER_ORDER);

    // Back to the list, then a reload that nothing can answer but the worker's precache.
    await page.locator(`nav[aria-label="Main"] ${byRole('link', 'Orders')}`).click();
    await page.locator(byRole('heading', 'Orders')).wait();
    await page.reload();
    await page.evaluate(workerInControl);
    await page.locator(byRole('heading', 'Orders')).wait();
    for (const plan of orderPlans(OFFLINE_ORDERS, 'Offline')) {
      await page.locator(`${byRole('list', 'Orders')} ::-p-text(${JSON.stringify(plan.customer)})`).wait();
    }
    await expect.poll(() => firefoxStatusText(page)).toContain(`Unsent ${OFFLINE_ORDERS * EVENTS_PER_ORDER}`);
    expect((await server.stats()).eventsStored).toBe(0);

    // BiDi's emulation never tells a document loaded while offline that the network came back (no `online`
    // event when lifted, Firefox 153 + puppeteer 25.16), which a real network's return does. Lifting and
    // setting it again while the server is still unreachable lets this document hear `offline`, so that it
    // hears `online` when the network returns below, as it would for real.
    await page.setOfflineMode(false);
    await page.setOfflineMode(true);
    await expect.poll(() => firefoxStatusText(page)).toMatch(/^Offline/);

    await healAndExpectDrained(
      'offline journey, Firefox',
      server,
      proxy,
      firefoxObserver(page),
      OFFLINE_ORDERS,
      async () => {
        // The network returns whole: the server is reachable before the page is told it is online.
        proxy.heal();
        await page.setOfflineMode(false);
      },
    );
  });

  it('delivers everything once the server is back from a 20 s outage the browser did not notice', async () => {
    const { server, proxy, page } = await openBehindProxy(44);
    proxy.set({ outage: true });
    const outageStarted = Date.now();
    for (const plan of orderPlans(OUTAGE_ORDERS, 'Outage')) await takeOrderInFirefox(page, plan);
    expect(await firefoxStatusText(page)).toContain('Online');
    await leaveAlone(outageStarted + OUTAGE_MS - Date.now());
    expect((await page.evaluate(readDevice)).outbox).toHaveLength(OUTAGE_ORDERS * EVENTS_PER_ORDER);
    await healAndExpectDrained('20 s outage, Firefox', server, proxy, firefoxObserver(page), OUTAGE_ORDERS);
  });

  it('delivers everything once a flaky server (30% refused, 20% answers lost) heals', async () => {
    const { server, proxy, page } = await openBehindProxy(66);
    proxy.set(FLAKY);
    for (const plan of orderPlans(FLAKY_ORDERS, 'Flaky')) await takeOrderInFirefox(page, plan);
    await leaveAlone(FAULTS_LEFT_ON_MS);
    await healAndExpectDrained('flaky server, Firefox', server, proxy, firefoxObserver(page), FLAKY_ORDERS);
  });
});
