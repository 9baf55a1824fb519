import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { workerInControl } from './support/browser';
import { readDevice } from './support/device';
import { type FaultProxy, startFaultProxy } from './support/fault-proxy';
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
import { launchWebKit, type WebKit, type WebKitPage } from './support/webkit';
import {
  navLink,
  openAppInWebKit,
  readStatusText,
  takeOrderInWebKit,
  webkitObserver,
} from './support/webkit-ui';

/**
 * Issue 24: the offline journeys in WebKit, Safari's engine (Debian's WebKitGTK MiniBrowser over WebDriver):
 * no Background Sync, so the fallback is all its users get. The production build on the reference server
 * behind the fault proxy, orders entered through the UI, and after the server heals nobody touches the app.
 *
 * WebDriver has no network switch: "cannot be reached" is the proxy's outage, every connection on every path
 * destroyed while the browser still believes it is online. A reload that shows the app then can only have
 * come from the worker's precache.
 */

const OFFLINE_ORDERS = 3;
/** The outage the Chromium suite measures too: the server unreachable this long, the browser online. */
const OUTAGE_MS = 20_000;
const OUTAGE_ORDERS = 5;

let servers: ReferenceServers;
let webkit: WebKit;
const proxies: FaultProxy[] = [];

beforeAll(async () => {
  servers = startReferenceServers();
  webkit = await launchWebKit();
});

afterAll(async () => {
  await webkit?.close();
  for (const proxy of proxies) await proxy.close().catch(() => undefined);
  await servers?.close();
});

/** A fresh server behind a fresh proxy, and a fresh WebKit profile with the app open and its worker in control. */
async function openBehindProxy(
  seed: number,
): Promise<{ server: ReferenceServer; proxy: FaultProxy; page: WebKitPage }> {
  const [server, page] = await Promise.all([servers.startServer({ behindProxy: true }), webkit.newPage()]);
  const proxy = await startFaultProxy({ upstream: server.origin, seed });
  proxies.push(proxy);
  await openAppInWebKit(page, `${proxy.origin}/#/orders`);
  // No SyncManager in WebKit: the app picks the fallback by itself.
  await expect.poll(() => page.evaluate(readStatusText)).toContain('Driven by Fallback timer');
  return { server, proxy, page };
}

describe('liveness in WebKit (fallback only), nobody touching it', () => {
  it('keeps orders taken while the server cannot be reached over a reload, and delivers each once', async () => {
    const { server, proxy, page } = await openBehindProxy(77);
    proxy.set({ outage: true });
    for (const plan of orderPlans(OFFLINE_ORDERS, 'Offline')) await takeOrderInWebKit(page, plan);

    // The first order made the app ask WebKit to keep the data: the Outbox screen says what it answered.
    await page.click(navLink('Outbox'));
    await page.waitFor({ role: 'heading', name: 'Keeping the data on this device' });
    const shown = await settledPersistence(() => page.evaluate(readPersistenceShown));
    expectPersistenceShown('WebKit', shown, OFFLINE_ORDERS * EVENTS_PER_ORDER);

    await page.click(navLink('Orders'));
    await page.waitFor({ role: 'heading', name: 'Orders' });
    await page.reload();
    await page.evaluate(workerInControl);
    await page.waitFor({ role: 'heading', name: 'Orders' });
    for (const plan of orderPlans(OFFLINE_ORDERS, 'Offline')) {
      await expect.poll(() => page.textOf({ role: 'list', name: 'Orders' })).toContain(plan.customer);
    }
    await expect
      .poll(() => page.evaluate(readStatusText))
      .toContain(`Unsent ${OFFLINE_ORDERS * EVENTS_PER_ORDER}`);
    expect((await server.stats()).eventsStored).toBe(0);

    await healAndExpectDrained(
      'offline journey, WebKit',
      server,
      proxy,
      webkitObserver(page),
      OFFLINE_ORDERS,
    );
  });

  it('delivers everything once the server is back from a 20 s outage the browser did not notice', async () => {
    const { server, proxy, page } = await openBehindProxy(88);
    proxy.set({ outage: true });
    const outageStarted = Date.now();
    for (const plan of orderPlans(OUTAGE_ORDERS, 'Outage')) await takeOrderInWebKit(page, plan);
    expect(await page.evaluate(readStatusText)).toContain('Online');
    await leaveAlone(outageStarted + OUTAGE_MS - Date.now());
    expect((await page.evaluate(readDevice)).outbox).toHaveLength(OUTAGE_ORDERS * EVENTS_PER_ORDER);
    await healAndExpectDrained('20 s outage, WebKit', server, proxy, webkitObserver(page), OUTAGE_ORDERS);
  });

  it('delivers everything once a flaky server (30% refused, 20% answers lost) heals', async () => {
    const { server, proxy, page } = await openBehindProxy(99);
    proxy.set(FLAKY);
    for (const plan of orderPlans(FLAKY_ORDERS, 'Flaky')) await takeOrderInWebKit(page, plan);
    await leaveAlone(FAULTS_LEFT_ON_MS);
    await healAndExpectDrained('flaky server, WebKit', server, proxy, webkitObserver(page), FLAKY_ORDERS);
  });
});
