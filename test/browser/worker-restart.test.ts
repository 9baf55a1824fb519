import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM_ARGS, waitForWorker } from './support/browser';
import { type ReferenceHarness, startReferenceHarness } from './support/reference-server';
import { nav, orderRow, takeOrder } from './support/ui';

/**
 * The worker flushes each time the browser starts it, not only on Background Sync or a page's request: where
 * Background Sync is missing or its event was dropped, the next start is its chance. Proven with a real
 * browser restart on one on-disk profile (stopping the worker through CDP left Playwright's page hanging):
 * the order is written offline in fallback mode (no sync registration exists), the browser quits, a new one
 * opens only the API's health URL (no app code runs in any page), and the server receives the three events.
 */

let harness: ReferenceHarness;
let profile: string;
let context: BrowserContext | null = null;

const launch = () =>
  chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    args: CHROMIUM_ARGS,
  });

beforeAll(async () => {
  harness = await startReferenceHarness();
  profile = mkdtempSync(join(tmpdir(), 'outpost-restart-'));
});

afterAll(async () => {
  await context?.close().catch(() => undefined);
  await harness?.close();
  rmSync(profile, { recursive: true, force: true });
});

describe('service worker start', () => {
  it('delivers what an earlier session left pending when the browser next starts the worker', async () => {
    const server = await harness.startServer();
    context = await launch();
    const page = await context.newPage();
    page.setDefaultTimeout(20_000);
    await page.goto(`${server.origin}/?sync=fallback#/orders`);
    await waitForWorker(page);
    await page.getByRole('heading', { level: 1, name: 'Orders' }).waitFor();

    await context.setOffline(true);
    await takeOrder(page, {
      customer: 'Quay Bakery',
      sku: 'COF-ESP-1KG',
      productName: 'Espresso beans, 1 kg',
      quantity: 1,
    });
    await nav(page, 'Orders').click();
    await expect.poll(() => orderRow(page, 'Quay Bakery').textContent()).toMatch(/Saved on device/);
    const registrations = await page.evaluate(async () => {
      const registration = await navigator.serviceWorker.ready;
      const sync = (registration as ServiceWorkerRegistration & { sync?: { getTags(): Promise<string[]> } })
        .sync;
      return sync ? sync.getTags() : [];
    });
    expect(registrations).toEqual([]);
    await context.close();
    context = null;
    expect((await server.stats()).eventsStored).toBe(0);

    // A new browser on the same profile, online, loading a URL the app shell never serves.
    context = await launch();
    const health = await context.newPage();
    const response = await health.goto(`${server.origin}/api/sync/health`);
    expect(response?.ok()).toBe(true);
    await expect.poll(async () => (await server.stats()).eventsStored, { timeout: 30_000 }).toBe(3);
    expect(await health.evaluate(() => navigator.serviceWorker.controller !== null)).toBe(true);
  });
});
