import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import type { Outpost } from '../../../src/app/outpost';
import type { OrderSummary } from '../../../src/orders/read-models';
import type { DemoServerState } from '../../../src/outbox/device/worker-messages';
import type { DeliveryRow, OutboxRow, StoredSyncState } from '../../../src/outbox/storage/rows';
import { buildDemoOnce } from './build-demo';
import { type StaticServer, serveStatic } from './static-server';

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

export interface Harness {
  readonly browser: Browser;
  readonly server: StaticServer;
  readonly baseUrl: string;
  close(): Promise<void>;
}

/** The system Chromium, headless, with the flags STACK.md found to work on this machine. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    args: CHROMIUM_ARGS,
  });
}

/** Builds the demo app (once), serves it on a free port and launches the system Chromium. */
export async function startHarness(): Promise<Harness> {
  const dir = buildDemoOnce();
  const server = await serveStatic(dir);
  let browser: Browser;
  try {
    browser = await launchChromium();
  } catch (error) {
    await server.close();
    throw error;
  }
  return {
    browser,
    server,
    baseUrl: server.url,
    async close() {
      await browser.close().catch(() => undefined);
      await server.close().catch(() => undefined);
    },
  };
}

export interface FlushRecord {
  readonly source: 'worker' | 'page';
  readonly reasons: readonly string[];
  readonly delivered: number;
  readonly outcome: string;
}

type FlushMessage = Pick<FlushRecord, 'source' | 'reasons'> & {
  report: { delivered: number; outcome: string };
};
type TestWindow = Window & { __outpost?: Outpost; __flushes?: FlushRecord[]; __cspViolations?: string[] };

/** A fresh profile (own IndexedDB, caches and worker) that records every flush report on the sync channel. */
export async function newAppContext(browser: Browser): Promise<BrowserContext> {
  const context = await browser.newContext();
  await recordFlushes(context);
  return context;
}

/**
 * Makes every page of `context` copy the flush reports posted on the sync channel (`flushes(page)`) and the
 * CSP violations (`cspViolations(page)`). Listening only: the app behaves the same with or without it.
 */
export async function recordFlushes(context: BrowserContext): Promise<void> {
  await context.addInitScript(installFlushRecorder);
}

/** The in-page half of `recordFlushes`, self-contained so any driver can install it before the app loads. */
export function installFlushRecorder(): void {
  const w = window as TestWindow;
  w.__flushes = [];
  w.__cspViolations = [];
  document.addEventListener('securitypolicyviolation', (event) => {
    w.__cspViolations?.push(`${event.violatedDirective} blocked ${event.blockedURI || 'inline'}`);
  });
  const channel = new BroadcastChannel('outpost-sync');
  channel.onmessage = (event: MessageEvent) => {
    const data = event.data as FlushMessage;
    w.__flushes?.push({
      source: data.source,
      reasons: data.reasons,
      delivered: data.report.delivered,
      outcome: data.report.outcome,
    });
  };
}

/** In-page: the flush reports `installFlushRecorder` copied so far. */
export function recordedFlushes(): FlushRecord[] {
  return (window as TestWindow).__flushes ?? [];
}

/** Opens the app and waits until the service worker controls the page and `window.__outpost` is ready. */
export async function openApp(context: BrowserContext, url: string): Promise<Page> {
  const page = await context.newPage();
  page.on('pageerror', (error) => console.error(`[page error] ${error.message}`));
  await page.goto(url);
  await waitForApp(page);
  return page;
}

export async function waitForApp(page: Page): Promise<void> {
  await page.waitForFunction(() => (window as TestWindow).__outpost !== undefined, null, { timeout: 30_000 });
  await waitForWorker(page);
}

/** Waits until the service worker is active and controls the page (production builds have no `__outpost`). */
export async function waitForWorker(page: Page): Promise<void> {
  await page.evaluate(workerInControl);
}

/** In-page, self-contained (any driver can evaluate it): resolves once a service worker controls the page. */
export async function workerInControl(): Promise<void> {
  const container = navigator.serviceWorker;
  await container.ready;
  if (!container.controller) {
    await new Promise((resolve) => container.addEventListener('controllerchange', resolve, { once: true }));
  }
}

export interface OrderPlan {
  readonly orderId: string;
  readonly customerName: string;
  readonly sku: string;
}

/** Creates, fills and places one order through the app's command path; returns the number of commands. */
export async function placeOrder(page: Page, plan: OrderPlan, extraLines = 0): Promise<number> {
  return page.evaluate(
    async ({ plan, extraLines }) => {
      const outpost = (window as TestWindow).__outpost;
      if (!outpost) throw new Error('app not ready');
      const { orderId } = plan;
      const commands: unknown[] = [
        { type: 'CreateOrder', orderId, customerName: plan.customerName, currency: 'EUR' },
        { type: 'AddProduct', orderId, sku: plan.sku, name: 'Item', quantity: 2, unitPrice: 1250 },
      ];
      for (let i = 0; i < extraLines; i += 1) {
        commands.push({
          type: 'AddProduct',
          orderId,
          sku: `EXTRA-${i}`,
          name: 'Extra',
          quantity: 1,
          unitPrice: 100,
        });
      }
      commands.push({ type: 'PlaceOrder', orderId });
      for (const command of commands) {
        const result = await outpost.execute({ command });
        if (!result.ok) throw new Error(`${JSON.stringify(command)} refused: ${result.error.message}`);
      }
      return commands.length;
    },
    { plan, extraLines },
  );
}

/** An order's list row with its stream's stored delivery state beside it, as the tests check it. */
export interface OrderRow extends OrderSummary {
  readonly orderId: string;
  readonly syncState: StoredSyncState;
}

export const summaries = (page: Page): Promise<OrderRow[]> =>
  page.evaluate(async () => {
    const outpost = (window as TestWindow).__outpost;
    if (!outpost) throw new Error('app not ready');
    const [orders, deliveries] = await Promise.all([
      outpost.db.table<OrderSummary>('orders').toArray(),
      outpost.db.deliveries.toArray(),
    ]);
    const stateOf = new Map(deliveries.map((row: DeliveryRow) => [row.streamId, row.state] as const));
    return orders.map((order) => ({
      ...order,
      orderId: order.id,
      syncState: stateOf.get(`order-${order.id}`) ?? ('delivered' as const),
    }));
  });

export const outbox = (page: Page): Promise<OutboxRow[]> =>
  page.evaluate(() => {
    const outpost = (window as TestWindow).__outpost;
    if (!outpost) throw new Error('app not ready');
    return outpost.db.outbox.orderBy('position').toArray();
  });

/** A client event and its delivery state as the app shows it. */
export interface Delivery {
  readonly eventId: string;
  readonly streamId: string;
  readonly version: number;
  readonly state: 'pending' | 'inflight' | 'dead' | 'parked' | 'delivered';
}

/**
 * Every client event's delivery state, in position order, read in the page: a pending row named by a lease
 * record is in flight, a delivered row is deleted (src/outbox/device/read-models/outbox-view.ts; the page cannot import it).
 */
export const deliveries = (page: Page): Promise<Delivery[]> =>
  page.evaluate(async () => {
    const outpost = (window as TestWindow).__outpost;
    if (!outpost) throw new Error('app not ready');
    const { db } = outpost;
    const [events, rows, leases] = await Promise.all([
      db.events.orderBy('position').toArray(),
      db.outbox.toArray(),
      db.leases.toArray(),
    ]);
    const leased = new Set(leases.flatMap((lease) => lease.eventIds));
    const byId = new Map(rows.map((row) => [row.eventId, row]));
    return events.flatMap((event) => {
      if (event.kind !== 'client') return [];
      const row = byId.get(event.eventId);
      const state = !row
        ? ('delivered' as const)
        : row.status === 'pending' && leased.has(row.eventId)
          ? ('inflight' as const)
          : row.status;
      return [{ eventId: event.eventId, streamId: event.streamId, version: event.version, state }];
    });
  });

export const flushes = (page: Page): Promise<FlushRecord[]> => page.evaluate(recordedFlushes);

/** Changes the in-worker demo server's fault switches through the app's demo controls. */
export async function setFaults(page: Page, settings: Record<string, unknown>): Promise<void> {
  await page.evaluate(async (partial) => {
    const demo = (window as TestWindow).__outpost?.demo;
    if (!demo) throw new Error('not a demo build');
    await demo.setFaults(partial);
  }, settings);
}

/** Asks the service worker what the in-worker demo server stored. */
export function serverState(page: Page): Promise<DemoServerState> {
  return page.evaluate(async () => {
    const worker = navigator.serviceWorker.controller;
    if (!worker) throw new Error('no controlling worker');
    const channel = new MessageChannel();
    const answer = new Promise<{ ok: boolean; value?: unknown; error?: { message: string } }>((resolve) => {
      channel.port1.onmessage = (event) => resolve(event.data);
    });
    worker.postMessage({ type: 'demo:server-state' }, [channel.port2]);
    const reply = await answer;
    if (!reply.ok) throw new Error(reply.error?.message ?? 'worker refused');
    return reply.value as DemoServerState;
  });
}

/** Polls `read` until `done` holds (the app works asynchronously across contexts), or fails with the last value. */
export async function eventually<T>(
  read: () => Promise<T>,
  done: (value: T) => boolean,
  { timeoutMs = 30_000, intervalMs = 200 } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let value = await read();
  while (!done(value)) {
    if (Date.now() > deadline)
      throw new Error(`Condition not met in ${timeoutMs} ms; last value: ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
    value = await read();
  }
  return value;
}

/** What the page's Content-Security-Policy blocked since it loaded; the app must need nothing it forbids. */
export function cspViolations(page: Page): Promise<string[]> {
  return page.evaluate(() => (window as TestWindow).__cspViolations ?? []);
}
