import { readFile } from 'node:fs/promises';
import type { BrowserContext, Page } from 'playwright-core';
import * as v from 'valibot';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  cspViolations,
  eventually,
  type FlushRecord,
  flushes,
  newAppContext,
  waitForWorker,
} from './support/browser';
import { type ReferenceHarness, startReferenceHarness } from './support/reference-server';
import {
  dismissToasts,
  nav,
  orderRow,
  pagePolicy,
  statusBar,
  takeOrder,
  type UiOrderPlan,
} from './support/ui';

/**
 * The second target (issue 6 item 5): the production build, served with its sync API by the real reference
 * server on SQLite. No mock and no `window.__outpost`: the app is driven by role and label only, and the
 * server is asked what it stored.
 */

const LONG = { timeout: 30_000 };

let harness: ReferenceHarness;
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  harness = await startReferenceHarness();
});

afterAll(async () => {
  for (const context of contexts) await context.close().catch(() => undefined);
  await harness?.close();
});

const ORDERS: readonly UiOrderPlan[] = [
  { customer: 'Harbour Café', sku: 'COF-ESP-1KG', productName: 'Espresso beans, 1 kg', quantity: 3 },
  {
    customer: 'Lighthouse Inn',
    sku: 'DISC-SYR-HAZ',
    productName: 'Hazelnut syrup, 750 ml (discontinued)',
    quantity: 2,
  },
];
/** CreateOrder, AddProduct and PlaceOrder each append one client event. */
const CLIENT_EVENTS = ORDERS.length * 3;

/** The part of the exported backup this test reads. */
const BackupSchema = v.object({
  clientId: v.string(),
  events: v.array(
    v.object({ kind: v.string(), eventId: v.string(), streamId: v.string(), type: v.string() }),
  ),
  outbox: v.array(v.object({ eventId: v.string(), status: v.string() })),
});

/** Exports the device's events through the Outbox screen's download, as a person making a backup would. */
async function exportBackup(page: Page): Promise<v.InferOutput<typeof BackupSchema>> {
  await nav(page, 'Outbox').click();
  const download = page.waitForEvent('download');
  await page.getByRole('button', { name: 'Export outbox and events' }).click();
  const file = await download;
  return v.parse(BackupSchema, JSON.parse(await readFile((await file.path()) as string, 'utf8')));
}

const journeys = [
  { name: 'with Background Sync', query: '', drivenBy: 'Background Sync', drainedBy: 'worker' },
  {
    name: 'with Background Sync forced off',
    query: '?sync=fallback',
    drivenBy: 'Fallback timer',
    drainedBy: 'page',
  },
] as const;

describe.each(journeys)(
  'the production build on the reference server, $name',
  ({ query, drivenBy, drainedBy }) => {
    it('keeps offline orders over an offline reload and delivers each event exactly once', async () => {
      const server = await harness.startServer();
      const context = await newAppContext(harness.browser);
      contexts.push(context);
      const page = await context.newPage();
      page.setDefaultTimeout(20_000);
      page.on('pageerror', (error) => console.error(`[page error] ${error.message}`));

      // First visit: the server hands out the shell and the worker installs and takes control.
      await page.goto(`${server.origin}/${query}#/orders`);
      await waitForWorker(page);
      await page.getByRole('heading', { level: 1, name: 'Orders' }).waitFor();
      await expect.poll(() => statusBar(page).textContent()).toContain(`Driven by ${drivenBy}`);
      // Same origin as the page: the server that served the shell also takes the events.
      await expect.poll(() => statusBar(page).textContent()).toContain(`Server ${server.origin}/api/sync`);
      // The production bundle, not the demo: no test hook, no in-worker mock.
      expect(await page.evaluate(() => '__outpost' in window)).toBe(false);

      await context.setOffline(true);
      await expect.poll(() => page.getByText('Offline', { exact: true }).isVisible()).toBe(true);
      for (const plan of ORDERS) await takeOrder(page, plan);
      await nav(page, 'Orders').click();
      for (const plan of ORDERS) {
        await expect
          .poll(() => orderRow(page, plan.customer).textContent())
          .toMatch(/Placed.*Saved on device/);
      }

      // The network is still off: the reload can only come from the worker's precache.
      const reloaded = await page.reload();
      expect(reloaded?.fromServiceWorker()).toBe(true);
      await waitForWorker(page);
      await page.getByRole('heading', { level: 1, name: 'Orders' }).waitFor();
      await expect
        .poll(() => page.getByRole('list', { name: 'Orders' }).getByRole('listitem').count())
        .toBe(2);
      for (const plan of ORDERS) {
        await expect
          .poll(() => orderRow(page, plan.customer).textContent())
          .toMatch(/Placed.*Saved on device/);
      }
      await expect.poll(() => statusBar(page).textContent()).toContain(`Unsent ${CLIENT_EVENTS}`);
      expect((await server.stats()).eventsStored).toBe(0);

      // Back online, no reload: the list turns to the server's decisions by itself.
      await context.setOffline(false);
      await expect
        .poll(() => orderRow(page, 'Harbour Café').textContent(), LONG)
        .toMatch(/Confirmed SO-\d{6}.*Delivered/);
      await expect
        .poll(() => orderRow(page, 'Lighthouse Inn').textContent(), LONG)
        .toMatch(/Rejected: .*discontinued/i);
      await expect.poll(() => statusBar(page).textContent(), LONG).toContain('Unsent 0');

      // Who drained it: the worker's sync event, or the page itself when Background Sync is off. With
      // Background Sync the page's live channel reconnects when the network returns too, and the feed read its
      // first poke starts sends what waits if it gets the flush lock before the sync event: nobody touched the
      // app either way (the demo build's liveness tests, which have no feed, hold the worker to it).
      const drained = (report: FlushRecord): boolean =>
        report.delivered > 0 &&
        (report.source === drainedBy ||
          (drainedBy === 'worker' && report.source === 'page' && report.reasons.includes('feed')));
      const reports = await eventually(
        () => flushes(page),
        (all) => all.some(drained),
        {
          timeoutMs: 10_000,
        },
      );
      if (drainedBy === 'page') {
        expect(reports.filter((report) => report.source === 'worker' && report.delivered > 0)).toEqual([]);
      }

      // The device's own record of what it wrote, and that all of it was acknowledged.
      await dismissToasts(page);
      const backup = await exportBackup(page);
      const written = backup.events.filter((event) => event.kind === 'client');
      expect(written).toHaveLength(CLIENT_EVENTS);
      // Delivered rows are deleted with the answer: nothing written is left to send.
      expect(backup.outbox).toEqual([]);

      // The server stored every client event once, and decided each order once.
      const stats = await server.stats();
      expect(stats).toMatchObject({
        eventsStored: CLIENT_EVENTS,
        streams: ORDERS.length,
        serverEvents: ORDERS.length,
        serverEventsByType: { OrderConfirmed: 1, OrderRejected: 1 },
      });
      const pulled = await server.pull(backup.clientId);
      expect(pulled.hasMore).toBe(false);
      expect(pulled.serverEvents.map((event) => event.type).sort()).toEqual([
        'OrderConfirmed',
        'OrderRejected',
      ]);
      expect(new Set(pulled.serverEvents.map((event) => event.streamId))).toEqual(
        new Set(written.map((event) => event.streamId)),
      );
      // The device holds the same decisions the server made, no more.
      expect(
        backup.events
          .filter((event) => event.kind === 'server')
          .map((event) => event.eventId)
          .sort(),
      ).toEqual(pulled.serverEvents.map((event) => event.eventId).sort());

      // Built with a policy of its own origin only, and nothing the app did needed more.
      const policy = await pagePolicy(page);
      expect(policy).toMatch(/default-src 'self'/);
      expect(policy).toMatch(/connect-src 'self'(;|$)/);
      expect(policy).not.toMatch(/https?:|\*/);
      expect(await cspViolations(page)).toEqual([]);

      await context.close();
      // The file itself, once the server has shut down cleanly: each event the device wrote, exactly once.
      expect(await server.stop()).toBe(0);
      const stored = server.storedClientEvents();
      expect(stored.map((event) => event.eventId).sort()).toEqual(
        written.map((event) => event.eventId).sort(),
      );
      expect(stored.every((event) => event.clientId === backup.clientId)).toBe(true);
      console.log(
        `[reference ${drivenBy}] stored ${stored.length} client events, ${stats.serverEvents} decisions, ` +
          `${stats.duplicatesAnswered} duplicate(s) answered`,
      );
    });
  },
);
