import { join } from 'node:path';
import type { BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Outpost } from '../../src/app/outpost';
import { seriousViolations, watchConsole } from './support/audit';
import { type Harness, newAppContext, openApp, startHarness, waitForApp } from './support/browser';

/**
 * Issue 23, item 8, in Chromium on a store large enough to show it: 36,000 events whose read models a new
 * layout must rebuild before the app can open. The page shows what it is doing and how far it got, in
 * counts, and then opens on the orders it rebuilt.
 */

const ARTIFACTS = join(import.meta.dirname, 'artifacts');
const ORDERS = 12_000; // three events each: created, a product added, placed

let harness: Harness;
let context: BrowserContext;

beforeAll(async () => {
  harness = await startHarness();
  context = await newAppContext(harness.browser);
});

afterAll(async () => {
  await context?.close().catch(() => undefined);
  await harness?.close();
});

describe('a rebuild of the read models after an update', () => {
  it('shows the events replayed of all of them, then opens on the rebuilt orders', async () => {
    const console = watchConsole(context);
    const page = await openApp(context, `${harness.baseUrl}/#/orders`);
    page.setDefaultTimeout(30_000);
    await page.setViewportSize({ width: 360, height: 740 });
    // The events an earlier version stored, and the note its upgrade leaves (src/outbox/page/database.ts):
    // written straight into the event store, as a device that took 12,000 orders would hold them.
    await page.evaluate(async (orders) => {
      const outpost = (window as { __outpost?: Outpost }).__outpost;
      if (!outpost) throw new Error('app not ready');
      const clientId = '0193a000-0000-7000-8000-0000000000c1';
      const at = new Date(Date.UTC(2026, 10, 26, 9)).toISOString();
      const hex = (n: number, width: number) => n.toString(16).padStart(width, '0');
      const events = [];
      for (let index = 0; index < orders; index++) {
        const orderId = `01900000-0000-7000-8000-${hex(index, 12)}`;
        const streamId = `order-${orderId}`;
        const envelope = (version: number) => ({
          kind: 'client' as const,
          eventId: `01900000-0000-7000-9${hex(version, 3)}-${hex(index, 12)}`,
          streamId,
          version,
          schemaVersion: 1,
          occurredAt: at,
          metadata: {
            commandId: `01900000-0000-7000-a${hex(version, 3)}-${hex(index, 12)}`,
            correlationId: `01900000-0000-7000-a${hex(version, 3)}-${hex(index, 12)}`,
            causationId: null,
            occurredAt: at,
            clientId,
          },
        });
        events.push(
          {
            ...envelope(1),
            type: 'OrderCreated',
            data: { orderId, customerName: `Kiosk ${index}`, currency: 'EUR' },
          },
          {
            ...envelope(2),
            type: 'ProductAdded',
            data: { sku: 'COF-ESP-1KG', name: 'Espresso beans, 1 kg', quantity: 1, unitPrice: 2490 },
          },
          { ...envelope(3), type: 'OrderPlaced', data: { total: 2490, lineCount: 1 } },
        );
      }
      await outpost.db.events.bulkAdd(events);
      await outpost.db.table('meta').put({ key: 'readModelsRebuildOwed', value: 7 });
    }, ORDERS);

    await page.reload();
    const status = page.getByText(/^Reading the events stored on this device: [\d,]+ of 36,000 events$/);
    await status.waitFor();
    expect(await page.getByRole('heading', { level: 1, name: 'Updating Outpost' }).isVisible()).toBe(true);
    expect(await page.getByRole('progressbar').getAttribute('max')).toBe('36000');
    expect(await seriousViolations(page)).toEqual([]);
    const first = Number((await status.textContent())?.match(/: ([\d,]+) of/)?.[1]?.replace(/,/g, ''));
    // It moves: a later reading says more events were replayed (or the app opened, all of them done).
    await expect
      .poll(async () => {
        const text = (await status.count()) > 0 ? await status.textContent().catch(() => null) : null;
        const now = text
          ? Number(text.match(/: ([\d,]+) of/)?.[1]?.replace(/,/g, ''))
          : Number.POSITIVE_INFINITY;
        return now > first;
      })
      .toBe(true);
    if ((await status.count()) > 0)
      await page.screenshot({ path: join(ARTIFACTS, 'rebuild-progress-360.png') });

    await waitForApp(page);
    await page.getByText('12,000 orders').waitFor({ timeout: 60_000 });
    expect(await page.getByRole('progressbar').count()).toBe(0);
    expect(console.unexpected()).toEqual([]);
  }, 120_000);
});
