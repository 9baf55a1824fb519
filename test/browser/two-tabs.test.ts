import { randomUUID } from 'node:crypto';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  deliveries,
  eventually,
  flushes,
  type Harness,
  newAppContext,
  openApp,
  placeOrder,
  serverState,
  setFaults,
  startHarness,
  summaries,
} from './support/browser';

let harness: Harness;
let context: BrowserContext | undefined;

beforeAll(async () => {
  harness = await startHarness();
});

afterAll(async () => {
  await context?.close().catch(() => undefined);
  await harness?.close();
});

const ORDERS_PER_PAGE = 5;
const EXTRA_LINES = 2; // CreateOrder + AddProduct + 2 AddProduct + PlaceOrder = 5 commands and 5 events per order

async function takeOrders(page: Page, label: string): Promise<number> {
  let commands = 0;
  for (let i = 0; i < ORDERS_PER_PAGE; i += 1) {
    commands += await placeOrder(
      page,
      { orderId: randomUUID(), customerName: `${label} ${i}`, sku: 'BEANS-1' },
      EXTRA_LINES,
    );
  }
  return commands;
}

describe('two tabs and the service worker flushing the same outbox', () => {
  it('delivers every event exactly once and in order per stream while the network flaps', async () => {
    context = await newAppContext(harness.browser);
    // One tab drives its own flushes (fallback), the other leaves them to the worker's Background Sync:
    // the page flushers and the worker all compete for the same rows.
    const fallbackTab = await openApp(context, `${harness.baseUrl}/?sync=fallback`);
    const syncTab = await openApp(context, `${harness.baseUrl}/`);

    // Lost answers and failed requests on top of the flapping: resends must still land once each.
    await setFaults(syncTab, { ackLossRate: 0.2, failureRate: 0.2, failureKinds: ['500', 'network'] });

    let flapping = true;
    const flapper = (async () => {
      let offline = false;
      while (flapping) {
        offline = !offline;
        await context?.setOffline(offline);
        await new Promise((resolve) => setTimeout(resolve, offline ? 150 : 250));
      }
      await context?.setOffline(false);
    })();

    const [fromFallback, fromSync] = await Promise.all([
      takeOrders(fallbackTab, 'Fallback'),
      takeOrders(syncTab, 'Sync'),
    ]);
    flapping = false;
    await flapper;
    expect(fromFallback + fromSync).toBe(50);
    // The server heals, and nobody touches either tab: the schedule's retries drain what is left.
    await setFaults(fallbackTab, { ackLossRate: 0, failureRate: 0 });
    const rows = await eventually(
      () => deliveries(syncTab),
      (all) => all.length === 50 && all.every(({ state }) => state === 'delivered'),
      { timeoutMs: 60_000 },
    );

    const server = await serverState(syncTab);
    const arrived = server.arrivals.map((arrival) => arrival.eventId);
    expect(new Set(arrived).size).toBe(arrived.length);
    expect(new Set(arrived)).toEqual(new Set(rows.map((row) => row.eventId)));
    const versionsByStream = new Map<string, number[]>();
    for (const arrival of server.arrivals) {
      versionsByStream.set(arrival.streamId, [
        ...(versionsByStream.get(arrival.streamId) ?? []),
        arrival.version,
      ]);
    }
    expect(versionsByStream.size).toBe(ORDERS_PER_PAGE * 2);
    for (const versions of versionsByStream.values()) expect(versions).toEqual([1, 2, 3, 4, 5]);
    // No event was ever carried by two requests at the same moment.
    expect(server.overlaps).toEqual([]);

    // Both tabs see the same confirmed orders without a reload.
    for (const page of [fallbackTab, syncTab]) {
      const orders = await eventually(
        () => summaries(page),
        (all) => all.length === 10 && all.every((summary) => summary.status === 'confirmed'),
      );
      expect(orders.every((summary) => /^SO-\d{6}$/.test(summary.orderNumber ?? ''))).toBe(true);
    }
    const sources = new Set((await flushes(syncTab)).map((report) => report.source));
    // The flushers competed: the pages (the fallback tab's commands, the leading tab's timer) and the
    // worker (the Background Sync tab's sync events).
    expect([...sources].sort()).toEqual(['page', 'worker']);
  });
});
