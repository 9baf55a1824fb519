import type { Page } from 'playwright-core';
import { expect } from 'vitest';
import { type FlushRecord, flushes, waitForWorker } from './browser';
import { type DeviceState, describeDevice, readDevice } from './device';
import type { FaultProxy, Faults } from './fault-proxy';
import type { ReferenceServer } from './reference-server';
import { statusBar, type UiOrderPlan } from './ui';

/**
 * Issue 11 ("Liveness"): after faults, an app nobody touches must still deliver everything. What the tests
 * share whatever drives the browser (Playwright in Chromium, puppeteer in Firefox): the orders, the watching
 * (page text and raw IndexedDB only) and the end state every scenario must reach.
 */

/** After the server heals, a live app has this long to deliver everything and apply every decision. */
export const HEAL_BOUND_MS = 30_000;
/** How long the faults stay on after the last order, with nobody at the app, before the server heals. */
export const FAULTS_LEFT_ON_MS = 10_000;

/**
 * The flaky server of the issue: 30% of sync requests refused (503 with Retry-After 1, or a dropped socket) and
 * 20% of answers lost after the server stored the batch.
 */
export const FLAKY: Partial<Faults> = { refuseRate: 0.3, refuseKinds: ['503', 'drop'], ackLossRate: 0.2 };
/** Modest, to keep the browser project fast: 24 events, enough for several batches and many faults. */
export const FLAKY_ORDERS = 8;
/** How often the test looks. Reading IndexedDB and the status bar is all it does. */
export const OBSERVE_EVERY_MS = 1_000;

/** Both ways the app drives sync in Chromium: the worker on Background Sync, and the page's fallback timer. */
export const SYNC_MODES = [
  { mode: 'Background Sync', query: '', drivenBy: 'Background Sync' },
  { mode: 'fallback', query: '?sync=fallback', drivenBy: 'Fallback timer' },
] as const;

/** Nobody at the app for `ms`: the test does nothing at all meanwhile, the faults stay as they are. */
export const leaveAlone = (ms: number) =>
  new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, ms)));

/** Opens the app's Orders screen at `url` and waits until the worker controls the page and the mode shows. */
export async function openOrders(page: Page, url: string, drivenBy: string): Promise<void> {
  page.setDefaultTimeout(20_000);
  page.on('pageerror', (error) => console.error(`[page error] ${error.message}`));
  await page.goto(url);
  await waitForWorker(page);
  await page.getByRole('heading', { level: 1, name: 'Orders' }).waitFor();
  await expect.poll(() => statusBar(page).textContent()).toContain(`Driven by ${drivenBy}`);
}

/** What the person sees and what the device holds; nothing here may make the app do anything. */
export interface Observer {
  device(): Promise<DeviceState>;
  /** The "Sync status" region's items, joined with " | ". */
  statusText(): Promise<string>;
  /** Anything else worth printing when the app stalls (flush reports, sync registrations). */
  diagnostics?(): Promise<string>;
}

/**
 * A Chromium page watched through Playwright: the status bar, the database, and the flush reports its context
 * copies off the sync channel (`recordFlushes`).
 */
export function pageObserver(page: Page): Observer {
  return {
    device: () => page.evaluate(readDevice),
    statusText: () =>
      statusBar(page).evaluate((region) =>
        Array.from(region.children, (item) => item.textContent ?? '').join(' | '),
      ),
    async diagnostics() {
      const tags = await page.evaluate(async () => {
        const registration = (await navigator.serviceWorker.ready) as ServiceWorkerRegistration & {
          sync?: { getTags(): Promise<string[]> };
        };
        return registration.sync ? await registration.sync.getTags() : null;
      });
      return `${describeFlushes(await flushes(page))}, pending sync tags ${JSON.stringify(tags)}`;
    },
  };
}

/** How many flush reports the sync channel carried, and the last few: who flushed, why, how it ended. */
export function describeFlushes(reports: readonly FlushRecord[]): string {
  const last = reports
    .slice(-5)
    .map((report) => `${report.source}/${report.reasons.join('+')}/${report.outcome}/${report.delivered}`);
  return `${reports.length} flush reports (last, source/reasons/outcome/delivered: ${last.join(', ')})`;
}

/** Catalog lines (src/catalog/products.ts), none discontinued, so every order is confirmed. */
const LINES = [
  { sku: 'COF-ESP-1KG', productName: 'Espresso beans, 1 kg' },
  { sku: 'TEA-GRN-100', productName: 'Green tea, 100 bags' },
  { sku: 'MLK-OAT-1L', productName: 'Oat drink, 1 l' },
  { sku: 'CUP-PAP-250', productName: 'Paper cups 250 ml, 50 pack' },
  { sku: 'SYR-VAN-750', productName: 'Vanilla syrup, 750 ml' },
] as const;

/** `count` orders with distinct customers; each is three client events (created, product added, placed). */
export function orderPlans(count: number, label: string): UiOrderPlan[] {
  return Array.from({ length: count }, (_, index) => {
    const line = LINES[index % LINES.length] ?? LINES[0];
    return {
      customer: `${label} ${index + 1}`,
      sku: line.sku,
      productName: line.productName,
      quantity: index + 1,
    };
  });
}
export const EVENTS_PER_ORDER = 3;

/** "Unsent 0" exactly, not the start of "Unsent 07". */
const NOTHING_UNSENT = /Unsent 0(?!\d)/;

export interface Expectation {
  readonly orders: number;
  /** When the clock started: the heal, or the restarted app's opening. */
  readonly since: number;
  readonly boundMs: number;
  /** Says which bound was missed, for the message. */
  readonly boundLabel: string;
}

export interface Drained {
  readonly device: DeviceState;
  readonly statusText: string;
  /** ms from `since` to the first observation of the drained state. */
  readonly tookMs: number;
}

const isDrained = (device: DeviceState, statusText: string, orders: number) =>
  device.exists &&
  device.clientEvents.length === orders * EVENTS_PER_ORDER &&
  device.outbox.length === 0 &&
  device.leases.length === 0 &&
  device.serverEventIds.length === orders &&
  NOTHING_UNSENT.test(statusText);

/**
 * Watches, without touching, until everything is delivered and decided or the bound passes. Polls rather
 * than sleeping and asserting: the app may finish at any moment inside the bound.
 */
export async function awaitDrained(
  observer: Observer,
  proxy: FaultProxy,
  expectation: Expectation,
): Promise<Drained> {
  const deadline = expectation.since + expectation.boundMs;
  for (;;) {
    const device = await observer.device();
    const statusText = await observer.statusText();
    const now = Date.now();
    if (isDrained(device, statusText, expectation.orders)) {
      return { device, statusText, tookMs: now - expectation.since };
    }
    if (now > deadline) {
      const extra = observer.diagnostics ? `\n  diagnostics: ${await observer.diagnostics()}` : '';
      throw new Error(
        `Not drained ${expectation.boundMs / 1000} s after ${expectation.boundLabel} ` +
          `(${expectation.orders} orders, ${expectation.orders * EVENTS_PER_ORDER} events), nobody touching the app.` +
          `\n  status bar: ${statusText}\n  device: ${describeDevice(device)}\n  proxy: ${proxy.summary()}${extra}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, OBSERVE_EVERY_MS));
  }
}

export interface Delivered {
  readonly events: number;
  readonly duplicatesAnswered: number;
}

/**
 * The end state: every client event the device wrote stored exactly once, versions 1..n in order per stream,
 * every server decision the server made for this client present on the device. Stops the server to read its
 * file, so call it last.
 */
export async function expectDeliveredExactlyOnce(
  server: ReferenceServer,
  device: DeviceState,
  orders: number,
): Promise<Delivered> {
  const clientId = device.clientId;
  expect(clientId, 'the device has a clientId').not.toBeNull();
  const stats = await server.stats();
  const pulled = await server.pull(clientId ?? '');
  expect(pulled.hasMore).toBe(false);
  expect(pulled.serverEvents).toHaveLength(orders);
  expect([...device.serverEventIds].sort(), 'every server decision applied on the device').toEqual(
    pulled.serverEvents.map((event) => event.eventId).sort(),
  );

  expect(await server.stop()).toBe(0);
  const stored = server.storedClientEvents();
  const written = device.clientEvents.map((event) => event.eventId);
  expect(written).toHaveLength(orders * EVENTS_PER_ORDER);
  // Sorted lists compared whole: a duplicate would show as an extra id, a loss as a missing one.
  expect(stored.map((event) => event.eventId).sort(), 'each event stored exactly once').toEqual(
    [...written].sort(),
  );
  expect(stored.every((event) => event.clientId === clientId)).toBe(true);
  const versionsByStream = new Map<string, number[]>();
  for (const event of stored) {
    versionsByStream.set(event.streamId, [...(versionsByStream.get(event.streamId) ?? []), event.version]);
  }
  expect(versionsByStream.size).toBe(orders);
  for (const [streamId, versions] of versionsByStream) {
    expect(versions, `${streamId} stored in version order`).toEqual(versions.map((_, index) => index + 1));
  }
  return { events: stored.length, duplicatesAnswered: stats.duplicatesAnswered };
}

/** The line that goes in the issue note. */
export function summaryLine(
  scenario: string,
  proxy: FaultProxy,
  result: { delivered: Delivered; drainedMs: number } | { failure: string },
  context = '',
): string {
  const c = proxy.counters();
  const refused = c.refused503 + c.dropped + c.captivePortal + c.rateLimited;
  const outcome =
    'failure' in result
      ? `NOT DRAINED: ${result.failure.split('\n')[0]}`
      : `events ${result.delivered.events}, duplicates answered ${result.delivered.duplicatesAnswered}, ` +
        `drained ${(result.drainedMs / 1000).toFixed(1)} s after the clock started`;
  return (
    `[liveness] ${scenario}: pushes ${c.pushes}, pulls ${c.pulls}, refused ${refused} ` +
    `(503 ${c.refused503}, dropped ${c.dropped}, portal ${c.captivePortal}, 429 ${c.rateLimited}), ` +
    `lost answers ${c.answersLost}, held ${c.held}, outage kills ${c.outageKills}; ${outcome}` +
    (context ? `; ${context}` : '')
  );
}

/**
 * Heals the server, then only watches: drained within `HEAL_BOUND_MS`, and the end state checked against the
 * server's file. Prints the summary line either way, with what the device held at the heal.
 */
export async function healAndExpectDrained(
  scenario: string,
  server: ReferenceServer,
  proxy: FaultProxy,
  observer: Observer,
  orders: number,
  /** What "heals" means; by default every fault of the proxy goes away at once. */
  heal: () => Promise<void> = async () => proxy.heal(),
): Promise<void> {
  const atHeal = await observer.device();
  await heal();
  const healedAt = Date.now();
  const context = `at heal: ${describeDevice(atHeal, { brief: true })}`;
  try {
    const drained = await awaitDrained(observer, proxy, {
      orders,
      since: healedAt,
      boundMs: HEAL_BOUND_MS,
      boundLabel: 'the server healed',
    });
    const delivered = await expectDeliveredExactlyOnce(server, drained.device, orders);
    console.log(summaryLine(scenario, proxy, { delivered, drainedMs: drained.tookMs }, context));
  } catch (error) {
    console.log(summaryLine(scenario, proxy, { failure: String(error) }, context));
    throw error;
  }
}
