import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newAppContext } from './support/browser';
import { readDevice } from './support/device';
import { type FaultProxy, type Faults, startFaultProxy } from './support/fault-proxy';
import {
  EVENTS_PER_ORDER,
  FAULTS_LEFT_ON_MS,
  FLAKY,
  FLAKY_ORDERS,
  healAndExpectDrained,
  leaveAlone,
  openOrders,
  orderPlans,
  pageObserver,
  SYNC_MODES,
} from './support/liveness';
import { expectPersistenceShown, readPersistenceShown, settledPersistence } from './support/persistence';
import {
  type ReferenceHarness,
  type ReferenceServer,
  startReferenceHarness,
} from './support/reference-server';
import { nav, statusBar, takeOrder } from './support/ui';

/**
 * Issue 11, "Liveness": the production build behind a misbehaving server, orders entered through the UI as a
 * person would, and then nobody touches the app: no "sync now", no reload, no focus or visibility change, no
 * new order. The test only reads the page text and IndexedDB. Within `HEAL_BOUND_MS` after the server heals,
 * every event must be stored exactly once, in version order per stream, every decision must be back on the
 * device, and the outbox must be empty. In both sync modes: Background Sync, and the page's fallback.
 */

/** The outage the issue measured: the server unreachable this long while the browser believes it is online. */
const OUTAGE_MS = 20_000;
const OUTAGE_ORDERS = 5;
/** A captive portal answering 30% of sync requests with its HTML login page, and 30% rate limited (429). */
const PORTAL_AND_429: Partial<Faults> = { captivePortalRate: 0.3, rateLimitRate: 0.3 };
const PORTAL_ORDERS = 8;

let harness: ReferenceHarness;
const contexts: BrowserContext[] = [];
const proxies: FaultProxy[] = [];

beforeAll(async () => {
  harness = await startReferenceHarness();
});

afterAll(async () => {
  for (const context of contexts) await context.close().catch(() => undefined);
  for (const proxy of proxies) await proxy.close().catch(() => undefined);
  await harness?.close();
});

interface Setup {
  readonly server: ReferenceServer;
  readonly proxy: FaultProxy;
  readonly page: Page;
}

/** A fresh server behind a fresh proxy, and the app opened on the proxy's origin with its worker in control. */
async function openBehindProxy(query: string, drivenBy: string, seed: number): Promise<Setup> {
  const server = await harness.startServer({ behindProxy: true });
  const proxy = await startFaultProxy({ upstream: server.origin, seed });
  proxies.push(proxy);
  const context = await newAppContext(harness.browser);
  contexts.push(context);
  const page = await context.newPage();
  await openOrders(page, `${proxy.origin}/${query}#/orders`, drivenBy);
  return { server, proxy, page };
}

describe.each(SYNC_MODES)(
  'liveness of the production build, $mode, nobody touching it',
  ({ mode, query, drivenBy }) => {
    it('delivers everything once a flaky server (30% refused, 20% answers lost) heals', async () => {
      const { server, proxy, page } = await openBehindProxy(query, drivenBy, 11);
      proxy.set(FLAKY);
      for (const plan of orderPlans(FLAKY_ORDERS, 'Flaky')) await takeOrder(page, plan);
      await leaveAlone(FAULTS_LEFT_ON_MS);
      await healAndExpectDrained(`flaky server, ${mode}`, server, proxy, pageObserver(page), FLAKY_ORDERS);
    });

    it('delivers everything once the server is back from a 20 s outage the browser did not notice', async () => {
      const { server, proxy, page } = await openBehindProxy(query, drivenBy, 22);
      proxy.set({ outage: true });
      const outageStarted = Date.now();
      for (const plan of orderPlans(OUTAGE_ORDERS, 'Outage')) await takeOrder(page, plan);
      // The first order made the app ask Chromium to keep the data: the Outbox screen says what it answered.
      await nav(page, 'Outbox').click();
      await page.getByRole('heading', { name: 'Keeping the data on this device' }).waitFor();
      const shown = await settledPersistence(() => page.evaluate(readPersistenceShown));
      expectPersistenceShown('Chromium', shown, OUTAGE_ORDERS * EVENTS_PER_ORDER);
      // The browser still says online: a server gone behind the shop's Wi-Fi, not a lost network.
      expect(await statusBar(page).textContent()).toContain('Online');
      await leaveAlone(outageStarted + OUTAGE_MS - Date.now());
      // Unreachable means nothing got through, whoever tried.
      expect((await page.evaluate(readDevice)).outbox).toHaveLength(OUTAGE_ORDERS * EVENTS_PER_ORDER);
      await healAndExpectDrained(`20 s outage, ${mode}`, server, proxy, pageObserver(page), OUTAGE_ORDERS);
    });

    it('delivers everything once a captive portal (30% HTML) and rate limiting (30% 429) go away', async () => {
      const { server, proxy, page } = await openBehindProxy(query, drivenBy, 33);
      proxy.set(PORTAL_AND_429);
      for (const plan of orderPlans(PORTAL_ORDERS, 'Portal')) await takeOrder(page, plan);
      await leaveAlone(FAULTS_LEFT_ON_MS);
      await healAndExpectDrained(
        `captive portal and 429, ${mode}`,
        server,
        proxy,
        pageObserver(page),
        PORTAL_ORDERS,
      );
    });
  },
);
