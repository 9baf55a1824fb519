import { randomUUID } from 'node:crypto';
import type { BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Outpost } from '../../src/app/outpost';
import {
  eventually,
  flushes,
  type Harness,
  newAppContext,
  openApp,
  outbox,
  placeOrder,
  setFaults,
  startHarness,
} from './support/browser';

/**
 * The worker writes the database with plain IndexedDB (no Dexie in its flush), so the pages' Dexie live
 * queries learn of its writes only from the change notice it posts on Dexie's BroadcastChannel. A live query
 * of the page must re-run when the worker, and nobody else, delivers the outbox.
 */
let harness: Harness;
let context: BrowserContext | undefined;

beforeAll(async () => {
  harness = await startHarness();
});

afterAll(async () => {
  await context?.close().catch(() => undefined);
  await harness?.close();
});

type LiveWindow = Window & { __outpost?: Outpost; __undelivered?: number[] };

describe("the worker's plain IndexedDB flush", () => {
  it("re-renders a page's Dexie live query when the worker delivers", async () => {
    context = await newAppContext(harness.browser);
    const page = await openApp(context, `${harness.baseUrl}/`);

    // The demo server is down, so the order stays in the outbox.
    await setFaults(page, { offline: true });
    const commands = await placeOrder(page, {
      orderId: randomUUID(),
      customerName: 'Live query',
      sku: 'BEANS-1',
    });
    await eventually(
      () => outbox(page),
      (rows) => rows.length === commands,
    );

    // A live query in the page, straight on its Dexie: outbox rows (a delivered row is deleted), every value
    // it emits.
    await page.evaluate(() => {
      const w = window as LiveWindow;
      const db = w.__outpost?.db;
      if (!db) throw new Error('app not ready');
      const Dexie = db.constructor as unknown as {
        liveQuery<T>(query: () => Promise<T>): { subscribe(next: (value: T) => void): unknown };
      };
      w.__undelivered = [];
      Dexie.liveQuery(() => db.outbox.count()).subscribe((count) => w.__undelivered?.push(count));
    });
    await page.waitForFunction(() => (window as LiveWindow).__undelivered?.at(-1) === 3);
    const before = (await flushes(page)).length;

    // The server comes back and the worker is asked to flush, as the page's "sync now" does.
    await setFaults(page, { offline: false });
    await page.evaluate(async () => {
      const worker = navigator.serviceWorker.controller;
      if (!worker) throw new Error('no controlling worker');
      const channel = new MessageChannel();
      const answered = new Promise((resolve) => {
        channel.port1.onmessage = resolve;
      });
      worker.postMessage({ type: 'sync-now' }, [channel.port2]);
      await answered;
    });

    await page.waitForFunction(() => (window as LiveWindow).__undelivered?.at(-1) === 0, null, {
      timeout: 30_000,
    });
    // Only the worker delivered: the page's own Dexie wrote no outbox row that could have re-run the query.
    const since = (await flushes(page)).slice(before);
    expect(since.filter((flush) => flush.delivered > 0).map((flush) => flush.source)).toEqual(['worker']);
    expect(await outbox(page)).toEqual([]);
  });
});
