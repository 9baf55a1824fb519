import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordFlushes } from './support/browser';
import { type ChromiumProcess, killAllChromium, spawnChromium } from './support/chromium-process';
import { readDevice } from './support/device';
import { type FaultProxy, startFaultProxy } from './support/fault-proxy';
import {
  awaitDrained,
  expectDeliveredExactlyOnce,
  openOrders,
  orderPlans,
  pageObserver,
  SYNC_MODES,
  summaryLine,
} from './support/liveness';
import { type ReferenceServers, startReferenceServers } from './support/reference-server';
import { takeOrder } from './support/ui';

/**
 * Issue 11, "Liveness", the crash: the browser process is killed (kill -9 to its whole process group) while a
 * push is in flight: the server has stored the batch, the answer never reached the device. The browser is
 * started again on the same on-disk profile, the app opened once, and then nobody touches it. The batch's
 * lease outlives the dead browser; a live app resends it (the server answers duplicate) and drains.
 */

/**
 * A restarted app delivers everything within this long after it opened: the lease bound docs/sync.md states
 * (20 s: a dead flusher's lease never blocks its rows longer, and with Web Locks the first flush takes them
 * back at once) plus one backoff step and the drain.
 */
const RESTART_BOUND_MS = 25_000;
const CRASH_ORDERS = 5;

let servers: ReferenceServers;
const profiles: string[] = [];
const proxies: FaultProxy[] = [];

beforeAll(() => {
  // No Playwright-launched browser: the ones here are our own processes, so they can be killed.
  servers = startReferenceServers();
});

afterAll(async () => {
  await killAllChromium();
  for (const proxy of proxies) await proxy.close().catch(() => undefined);
  await servers?.close();
  for (const profile of profiles) rmSync(profile, { recursive: true, force: true });
});

/** A tab of `browser` (which records flush reports for failure messages) with the app open at `url`. */
async function openIn(browser: ChromiumProcess, url: string, drivenBy: string): Promise<Page> {
  await recordFlushes(browser.context);
  const page = await browser.context.newPage();
  await openOrders(page, url, drivenBy);
  return page;
}

describe.each(SYNC_MODES)(
  'liveness after a browser crash, $mode, nobody touching it',
  ({ mode, query, drivenBy }) => {
    it('resends what was in flight when the browser was killed, once the app is opened again', async () => {
      const server = await servers.startServer({ behindProxy: true });
      const proxy = await startFaultProxy({
        upstream: server.origin,
        seed: 44,
        faults: { holdPushes: true },
      });
      proxies.push(proxy);
      const profile = mkdtempSync(join(tmpdir(), 'outpost-crash-'));
      profiles.push(profile);
      const url = `${proxy.origin}/${query}#/orders`;
      const scenario = `browser killed mid-push, ${mode}`;

      const first = await spawnChromium(profile);
      const page = await openIn(first, url, drivenBy);
      for (const plan of orderPlans(CRASH_ORDERS, 'Crash')) await takeOrder(page, plan);
      // The first order's push went out with the first command and still waits for its answer.
      await proxy.whenPushHeld();
      const before = await page.evaluate(readDevice);
      const inFlight = before.leases.reduce((sum, lease) => sum + lease.events, 0);
      expect(inFlight, 'a batch is in flight').toBeGreaterThan(0);
      expect((await server.stats()).eventsStored, 'the server stored the batch in flight').toBe(inFlight);

      await first.kill9();
      // The held answer died with the browser's connection; from now on the server answers normally.
      proxy.heal();

      const second = await spawnChromium(profile);
      const reopened = await openIn(second, url, drivenBy);
      const openedAt = Date.now();
      // The dead browser's lease, as it was on disk when the browser died (the restarted app may already
      // have taken it back by the time anyone reads the database again).
      const leaseUntil = Math.max(...before.leases.map((lease) => lease.until));
      const boundMs = RESTART_BOUND_MS;
      const lease = `${((leaseUntil - openedAt) / 1000).toFixed(1)} s`;
      try {
        const drained = await awaitDrained(pageObserver(reopened), proxy, {
          orders: CRASH_ORDERS,
          since: openedAt,
          boundMs,
          boundLabel: `the restarted app opened (the dead browser's lease expiring ${lease} after)`,
        });
        const delivered = await expectDeliveredExactlyOnce(server, drained.device, CRASH_ORDERS);
        expect(delivered.duplicatesAnswered, 'the batch in flight was resent').toBeGreaterThanOrEqual(
          inFlight,
        );
        console.log(
          summaryLine(
            scenario,
            proxy,
            { delivered, drainedMs: drained.tookMs },
            `lease expired ${lease} after opening`,
          ),
        );
      } catch (error) {
        console.log(
          summaryLine(scenario, proxy, { failure: String(error) }, `lease expired ${lease} after opening`),
        );
        throw error;
      } finally {
        await second.kill9();
      }
    });
  },
);
