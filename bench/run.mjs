#!/usr/bin/env node
/**
 * Outpost benchmarks (docs/performance.md). Every IndexedDB figure is taken in real headless Chromium on a
 * persistent (on-disk) profile, with its baseline measured in the same browser and run, rounds interleaved
 * (A B A B …) after a warm-up. Prints a table and writes bench/results.json.
 *
 *   node bench/run.mjs            full sizes (many minutes)
 *   node bench/run.mjs --quick    small sizes, a smoke test of the harness (< ~60 s)
 *   node bench/run.mjs --only=append,drain   (or --only append,drain)
 *   node bench/run.mjs --only=app-path        the real app as history grows (issue 14)
 *
 * Exits non-zero only when the harness (or the product code it drives) breaks, never for a missed target.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { CHROMIUM_PATH, LAUNCH_ARGS } from './lib/chromium.mjs';
import { startReferenceServer } from './lib/reference-server.mjs';
import { seedShop } from './lib/shop.mjs';
import { buildApp, measureSize } from './lib/size.mjs';
import { startStaticServer } from './lib/static-server.mjs';
import { percentile, rate, round, summarize } from './lib/stats.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const repo = dirname(here);
const USAGE = `usage: node bench/run.mjs [--quick] [--only=<figure>,…] [--batches=<n>,…]
  (no flags: every figure at full size, many minutes)`;
// An unknown flag must not fall through to a full run of many minutes on a shared machine.
// `--only x` is read as `--only=x`.
const flags = process.argv
  .slice(2)
  .flatMap((arg, i, all) => (arg === '--only' ? [] : all[i - 1] === '--only' ? [`--only=${arg}`] : [arg]));
if (process.argv.at(-1) === '--only') {
  console.error(`--only needs a figure\n${USAGE}`);
  process.exit(2);
}
if (flags.includes('--help') || flags.includes('-h')) {
  console.log(USAGE);
  process.exit(0);
}
const unknownFlags = flags.filter(
  (arg) => arg !== '--quick' && !arg.startsWith('--only=') && !arg.startsWith('--batches='),
);
if (unknownFlags.length > 0) {
  console.error(`unknown argument(s): ${unknownFlags.join(' ')}\n${USAGE}`);
  process.exit(2);
}
const quick = flags.includes('--quick');
const onlyArg = flags.find((arg) => arg.startsWith('--only='));
const only = onlyArg ? new Set(onlyArg.slice('--only='.length).split(',')) : null;

/**
 * Sizes per mode. Quick mode is a smoke test that the harness still works (CI): 3 rounds and small
 * workloads; its figures are not for reading. Full mode: 5 measured rounds after a warm-up.
 */
const SIZES = quick
  ? {
      rounds: 3,
      warmup: 1,
      orders: 40,
      eventsPerOrder: 20,
      appendCommands: 40,
      groupBurst: 200,
      burstCommands: 1000,
      burstChunk: 500,
      backlog: 10_000,
      drainRows: { 1: 20, 10: 100, 100: 500, 500: 500 },
      workboxRows: 100,
      rebuildEvents: 3_000,
      latencySamples: 10,
      heal: { events: 100, outageMs: 5_000, rounds: 1, workboxCapMs: null, capMs: 60_000 },
      appPath: { orders: [0, 1_000], commands: 20, capMs: 5_000, quietMs: 300, coldStarts: 2 },
      catchUp: { orders: 100, firstRows: 1 },
    }
  : {
      rounds: 5,
      warmup: 1,
      orders: 200,
      eventsPerOrder: 20,
      appendCommands: 300,
      groupBurst: 1000,
      burstCommands: 10_000,
      burstChunk: 2000,
      backlog: 100_000,
      drainRows: { 1: 300, 10: 1000, 100: 10_000, 500: 10_000 },
      workboxRows: 300,
      rebuildEvents: 100_000,
      latencySamples: 40,
      // Workbox waits for Chromium's own retry of a failed sync, about 5 minutes after it: the cap covers it.
      heal: { events: 500, outageMs: 20_000, rounds: 5, workboxCapMs: 330_000, capMs: 120_000 },
      // Commands per round, at most capMs of them (a slow app path makes fewer); quietMs with no write and no
      // change on screen ends a round's reaction. 100,000 orders take about a minute to seed (docs/performance.md).
      appPath: { orders: [0, 10_000, 100_000], commands: 100, capMs: 15_000, quietMs: 300, coldStarts: 5 },
      // 10,000 orders of 7 lines, placed and confirmed: 100,000 events (issue 22).
      catchUp: { orders: 10_000, firstRows: 5 },
    };

const figures = [];
const errors = [];

/** Runs `runOne(variant)` for each variant in turn, round by round; the warm-up rounds are discarded. */
async function interleave(variants, runOne, { rounds = SIZES.rounds, warmup = SIZES.warmup } = {}) {
  const values = Object.fromEntries(variants.map((variant) => [variant, []]));
  for (let r = -warmup; r < rounds; r += 1) {
    for (const variant of variants) {
      const value = await runOne(variant, r);
      if (r >= 0) values[variant].push(value);
    }
  }
  return values;
}

/** A figure: Outpost against one baseline, higher is better unless `lowerIsBetter`. */
function figure({ id, title, unit, product, baseline, baselineName, target, notes, ratio, extra }) {
  const p = summarize(product);
  const b = baseline ? summarize(baseline) : null;
  const r = ratio ?? (b ? p.median / b.median : null);
  const met = target && r !== null ? (target.op === '>=' ? r >= target.value : r <= target.value) : null;
  const entry = {
    id,
    title,
    unit,
    product: { median: round(p.median), min: round(p.min), max: round(p.max), rounds: p.rounds },
    baseline: b
      ? {
          name: baselineName,
          median: round(b.median),
          min: round(b.min),
          max: round(b.max),
          rounds: b.rounds,
        }
      : null,
    ratio: r === null ? null : round(r),
    target: target ?? null,
    met,
    ...(extra ? { extra } : {}),
    ...(notes ? { notes } : {}),
  };
  figures.push(entry);
  return entry;
}

const CASES = {
  /** 1. One awaited command at a time on orders holding 20 events, strict and relaxed. */
  async append({ call }) {
    for (const durability of ['strict', 'relaxed']) {
      const variants = ['outpost', 'dexie', 'idb'];
      for (const variant of variants) {
        await call('appendSetup', {
          key: `append-${durability}-${variant}`,
          variant,
          durability,
          orders: SIZES.orders,
          eventsPerOrder: SIZES.eventsPerOrder,
        });
      }
      const values = await interleave(variants, async (variant) => {
        const { count, ms } = await call('appendRound', {
          key: `append-${durability}-${variant}`,
          commands: SIZES.appendCommands,
        });
        return rate(count, ms);
      });
      const common = {
        title: `Append, one command at a time (${durability})`,
        unit: 'commands/s',
        product: values.outpost,
      };
      figure({
        ...common,
        id: `append.${durability}.vs-dexie`,
        baseline: values.dexie,
        baselineName: 'raw Dexie transaction, same rows',
        target: { op: '>=', value: 0.75 },
      });
      figure({
        ...common,
        id: `append.${durability}.vs-indexeddb`,
        baseline: values.idb,
        baselineName: 'raw IndexedDB transaction, same rows',
        target: { op: '>=', value: 0.5 },
      });
      for (const variant of variants) await call('dropDb', `append-${durability}-${variant}`);
    }
  },

  /** 2. A burst issued at once through the pipeline (group commit) against the same commands one at a time. */
  async group({ call }) {
    for (const variant of ['outpost', 'group']) {
      await call('appendSetup', {
        key: `group-${variant}`,
        variant,
        durability: 'strict',
        orders: SIZES.orders,
        eventsPerOrder: SIZES.eventsPerOrder,
      });
    }
    const values = await interleave(['group', 'outpost'], async (variant) => {
      const { count, ms } = await call('appendRound', {
        key: `group-${variant}`,
        commands: variant === 'group' ? SIZES.groupBurst : SIZES.appendCommands,
      });
      return rate(count, ms);
    });
    figure({
      id: 'group-commit.strict',
      title: `Group commit, ${SIZES.groupBurst} commands issued at once (strict)`,
      unit: 'commands/s',
      product: values.group,
      baseline: values.outpost,
      baselineName: 'Outpost one command at a time',
      target: { op: '>=', value: 3 },
    });
    for (const variant of ['outpost', 'group']) await call('dropDb', `group-${variant}`);
  },

  /** 3. A large burst through the pipeline, issued in chunks, against one raw bulkAdd of the same rows. */
  async burst({ call }) {
    const longest = { outpost: [], raw: [] };
    const values = await interleave(['outpost', 'raw'], async (variant) => {
      const result = await call('burstRound', {
        variant,
        commands: SIZES.burstCommands,
        eventsPerOrder: SIZES.eventsPerOrder,
        chunkSize: SIZES.burstChunk,
        durability: 'strict',
      });
      longest[variant].push(result.longestTaskMs);
      return rate(result.count, result.ms);
    });
    figure({
      id: 'burst.strict',
      title: `Burst: ${SIZES.burstCommands} commands through the pipeline, ${SIZES.burstChunk} issued at a time`,
      unit: 'commands/s',
      product: values.outpost,
      baseline: values.raw,
      baselineName: 'raw Dexie bulkAdd of the same rows, one transaction',
      target: { op: '>=', value: 0.6 },
      extra: {
        longestTaskMs: {
          outpost: round(Math.max(...longest.outpost)),
          raw: round(Math.max(...longest.raw)),
          outpostRounds: longest.outpost.map((value) => round(value)),
        },
      },
    });
    await call('dropDb', 'burst-outpost');
    await call('dropDb', 'burst-raw');
  },

  /** 4. Append rate with a large pending outbox against an empty one. */
  async backlog({ call }) {
    const setups = { full: SIZES.backlog, empty: 0 };
    for (const [name, backlog] of Object.entries(setups)) {
      await call('appendSetup', {
        key: `backlog-${name}`,
        variant: 'outpost',
        durability: 'strict',
        orders: SIZES.orders,
        eventsPerOrder: SIZES.eventsPerOrder,
        backlog,
      });
    }
    const values = await interleave(['full', 'empty'], async (name) => {
      const { count, ms } = await call('appendRound', {
        key: `backlog-${name}`,
        commands: SIZES.appendCommands,
      });
      return rate(count, ms);
    });
    figure({
      id: 'backlog.strict',
      title: `Append with ${SIZES.backlog.toLocaleString('en')} pending outbox rows (strict)`,
      unit: 'commands/s',
      product: values.full,
      baseline: values.empty,
      baselineName: 'same, empty outbox',
      target: { op: '>=', value: 0.9 },
    });
    for (const name of Object.keys(setups)) await call('dropDb', `backlog-${name}`);
  },

  /** 5. Draining pending rows to the reference server, against a raw pipeline and Workbox. */
  async drain({ call, server }) {
    if (server.skipped) throw new Error(`no reference server: ${server.skipped}`);
    const batchesArg = process.argv.find((arg) => arg.startsWith('--batches='));
    const batches = batchesArg
      ? batchesArg.slice('--batches='.length).split(',').map(Number)
      : [1, 10, 100, 500];
    for (const batchSize of batches) {
      const rows = SIZES.drainRows[batchSize];
      const variants = batchSize === 100 ? ['outpost', 'raw', 'workbox'] : ['outpost', 'raw'];
      const network = { outpost: [], raw: [] };
      const values = await interleave(variants, async (variant, r) => {
        const result =
          variant === 'workbox'
            ? await call('workboxRound', { rows: SIZES.workboxRows })
            : await call('drainSetup', { variant, rows }).then(() =>
                call('drainRun', { variant, batchSize }),
              );
        if (r >= 0 && network[variant]) network[variant].push(result.networkMs / result.ms);
        return rate(result.count, result.ms);
      });
      const share = (values) => round(summarize(values).median);
      figure({
        id: `drain.batch-${batchSize}.vs-raw`,
        title: `Drain ${rows.toLocaleString('en')} pending events, batch ${batchSize}`,
        unit: 'events/s',
        product: values.outpost,
        baseline: values.raw,
        baselineName: 'raw pipeline (read after last key, POST, one delete transaction)',
        target: batchSize >= 100 ? { op: '>=', value: 0.8 } : undefined,
        extra: { networkShare: { outpost: share(network.outpost), raw: share(network.raw) } },
      });
      if (values.workbox) {
        figure({
          id: `drain.batch-${batchSize}.vs-workbox`,
          title: `Drain, batch ${batchSize}, against Workbox Background Sync`,
          unit: 'events/s',
          product: values.outpost,
          baseline: values.workbox,
          baselineName: `Workbox 7.4.1 Queue.replayRequests(), ${SIZES.workboxRows} queued requests of one event`,
          target: { op: '>=', value: 20 },
        });
      }
    }
    await call('dropDb', 'drain-outpost');
    await call('dropDb', 'drain-raw');
  },

  /** 6. Replaying the event store into fresh read models. */
  async rebuild({ call }) {
    const { events } = await call('rebuildSetup', { events: SIZES.rebuildEvents });
    const values = await interleave(['outpost', 'raw'], async (variant) => {
      const { count, ms } = await call('rebuildRound', { variant });
      return rate(count, ms);
    });
    figure({
      id: 'rebuild',
      title: `Rebuild read models from ${events.toLocaleString('en')} events`,
      unit: 'events/s',
      product: values.outpost,
      baseline: values.raw,
      baselineName: 'raw paged read + bulk write of the same rows, one transaction',
      target: { op: '>=', value: 0.5 },
    });
    await call('dropDb', 'rebuild');
  },

  /** 7. Command to live-query change, against the duration of one raw transaction. */
  async latency({ call }) {
    for (const variant of ['outpost', 'dexie']) {
      await call('appendSetup', {
        key: `latency-${variant}`,
        variant,
        durability: 'strict',
        orders: SIZES.orders,
        eventsPerOrder: SIZES.eventsPerOrder,
      });
    }
    const product = [];
    const raw = [];
    const p50s = [];
    const p99s = [];
    const rawP50s = [];
    for (let r = -SIZES.warmup; r < SIZES.rounds; r += 1) {
      const samples = await call('latencyRound', {
        key: 'latency-outpost',
        baselineKey: 'latency-dexie',
        samples: SIZES.latencySamples,
      });
      if (r < 0) continue;
      product.push(...samples.product);
      raw.push(...samples.raw);
      p50s.push(percentile(samples.product, 50));
      p99s.push(percentile(samples.product, 99));
      rawP50s.push(percentile(samples.raw, 50));
    }
    const p99 = percentile(product, 99);
    const rawP50 = percentile(raw, 50);
    figure({
      id: 'latency.strict',
      title: 'Latency: command to live detail query (p99 vs raw transaction p50)',
      unit: 'ms',
      product: p99s,
      baseline: rawP50s,
      baselineName: 'raw Dexie transaction of the same rows, p50',
      ratio: p99 / rawP50,
      target: { op: '<=', value: 3 },
      extra: {
        samples: product.length,
        p50: round(percentile(product, 50)),
        p99: round(p99),
        rawP50: round(rawP50),
        rawP99: round(percentile(raw, 99)),
        perRoundP50: p50s.map((value) => round(value)),
      },
      notes: 'product column: per-round p99; ratio uses p99 and p50 over all samples',
    });
    for (const variant of ['outpost', 'dexie']) await call('dropDb', `latency-${variant}`);
  },

  /** Pure domain throughput in Node (no storage): how far above IndexedDB's limits the domain sits. */
  async domain() {
    const answer = spawnSync(
      process.execPath,
      [
        '--import',
        'tsx',
        join(here, 'node/domain-throughput.ts'),
        String(SIZES.rounds),
        quick ? '5000' : '20000',
      ],
      { cwd: repo, encoding: 'utf8' },
    );
    if (answer.status !== 0) throw new Error(`domain throughput failed: ${answer.stderr}`);
    const { rates } = JSON.parse(answer.stdout.trim().split('\n').pop());
    figure({
      id: 'domain.node',
      title: 'Domain only in Node: validate + decide + evolve, order with 20 events',
      unit: 'commands/s',
      product: rates,
      notes: 'no storage; informational ceiling of the pure domain',
    });
  },

  /**
   * 8. Heal-to-drained: the real app (production build and service worker) with pending events, the sync
   * server unreachable for a while (every connection dropped, the browser online), then healthy again and
   * nobody touching anything. Measured from the heal to the server holding every event and the app's outbox
   * empty, in Background Sync mode and in fallback mode, each round on a fresh on-disk profile. Workbox's
   * Queue under the same fault is the reference (full runs only: it waits for the browser's retry).
   */
  async heal({ server, tmp }) {
    if (server.skipped) throw new Error(`no reference server: ${server.skipped}`);
    const { events, outageMs, rounds, workboxCapMs, capMs } = SIZES.heal;
    const appDir = buildApp({ repo, outDir: join(tmp, 'heal-app') });
    const faults = { outage: false };
    const site = await startStaticServer({
      roots: [appDir, join(here, 'out')],
      aliases: { '/__bench/': join(here, 'out', 'index.html') },
      apiTarget: { host: server.host, port: server.port },
      faults,
    });
    const stored = async () =>
      (await (await fetch(`http://${server.host}:${server.port}/api/sync/stats`)).json()).eventsStored;
    const outboxLeft = (page) =>
      page.evaluate(
        () =>
          new Promise((resolve, reject) => {
            const open = indexedDB.open('outpost');
            open.onerror = () => reject(open.error);
            open.onsuccess = () => {
              const count = open.result.transaction('outbox').objectStore('outbox').count();
              count.onsuccess = () => {
                open.result.close();
                resolve(count.result);
              };
            };
          }),
      );
    const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
    const once = async (variant, round, cap) => {
      const context = await chromium.launchPersistentContext(join(tmp, `heal-${variant}-${round}`), {
        executablePath: CHROMIUM_PATH,
        headless: true,
        args: LAUNCH_ARGS,
      });
      try {
        const page = context.pages()[0] ?? (await context.newPage());
        await page.goto(`${site.origin}/__bench/`);
        await page.waitForFunction(() => window.outpostBench !== undefined);
        const before = await stored();
        faults.outage = true;
        if (variant === 'workbox') {
          await page.evaluate((n) => window.outpostBench.workboxHealFill({ events: n }), events);
        } else {
          const pending = await page.evaluate((n) => window.outpostBench.healSeed({ events: n }), events);
          if (pending !== events) throw new Error(`seeded ${pending} of ${events} events`);
          // The app opens on the seeded outbox and finds the server unreachable: it backs off.
          await page.goto(`${site.origin}/${variant === 'fallback' ? '?sync=fallback' : ''}`);
        }
        await sleep(outageMs);
        faults.outage = false;
        const healedAt = performance.now();
        // Only watching from here: no reload, no focus change, nothing the app could take as a wake-up.
        for (;;) {
          const done =
            (await stored()) - before >= events && (variant === 'workbox' || (await outboxLeft(page)) === 0);
          const ms = performance.now() - healedAt;
          if (done) return { ms, drained: true };
          if (ms > cap) return { ms, drained: false };
          await sleep(50);
        }
      } finally {
        faults.outage = false;
        await context.close().catch(() => {});
      }
    };
    try {
      const undrained = [];
      const values = await interleave(
        ['background-sync', 'fallback'],
        async (variant, round) => {
          const result = await once(variant, round, capMs);
          if (!result.drained) undrained.push(`${variant} round ${round}`);
          return result.ms / 1000;
        },
        { rounds, warmup: 0 },
      );
      if (undrained.length > 0)
        throw new Error(`not drained within ${capMs / 1000} s: ${undrained.join(', ')}`);
      let workbox = null;
      if (workboxCapMs !== null) {
        const result = await once('workbox', 0, workboxCapMs);
        workbox = { seconds: round(result.ms / 1000), drained: result.drained };
      }
      figure({
        id: 'heal.background-sync.vs-fallback',
        title: `Heal-to-drained, ${events} pending events after ${outageMs / 1000} s unreachable (Background Sync mode vs fallback mode)`,
        unit: 's',
        product: values['background-sync'],
        baseline: values.fallback,
        baselineName: 'the same app in fallback mode (?sync=fallback)',
        target: { op: '<=', value: 1.2 },
        extra: { workbox },
        notes: workbox
          ? `Workbox 7.4.1 Queue (default onSync) under the same fault: ${
              workbox.drained
                ? `drained ${workbox.seconds} s after the heal`
                : `not drained ${workbox.seconds} s after the heal`
            }`
          : 'Workbox reference: full runs only',
      });
    } finally {
      await site.close();
    }
  },

  'app-path': appPathCase,

  /**
   * 11. A new device catching up with a shop (issue 22): the real sync engine reading the feed's history,
   * newest streams first, then the feed, into an empty database (events, read models, delivery facts),
   * against the same pages fetched and bulk-written by raw IndexedDB; and the real app opened on an empty
   * database of a new origin, from navigation to the first row of its orders list, on that shop and on a shop
   * of one order.
   */
  async 'catch-up'({ tmp, context }) {
    const { orders, firstRows } = SIZES.catchUp;
    const shop = await startReferenceServer({ repo, dataDir: join(tmp, 'catch-up-shop') });
    const tiny = await startReferenceServer({ repo, dataDir: join(tmp, 'catch-up-tiny') });
    const sites = [];
    try {
      if (shop.skipped || tiny.skipped)
        throw new Error(`no reference server: ${shop.skipped ?? tiny.skipped}`);
      const base = (server) => `http://${server.host}:${server.port}/api/sync`;
      const seedStart = Date.now();
      const seeded = await seedShop({ base: base(shop), orders });
      await seedShop({ base: base(tiny), orders: 1 });
      const seedS = round((Date.now() - seedStart) / 1000);
      const site = await startStaticServer({ root: join(here, 'out'), apiTarget: shop });
      sites.push(site);
      const page = await context.newPage();
      await page.goto(`${site.origin}/`);
      await page.waitForFunction(() => window.outpostBench !== undefined);
      const values = await interleave(['outpost', 'raw'], async (variant) => {
        const { count, ms } = await page.evaluate(
          (v) => window.outpostBench.catchUpRound({ variant: v }),
          variant,
        );
        if (count < seeded.events)
          throw new Error(`${variant} caught up ${count} of ${seeded.events} events`);
        return rate(count, ms);
      });
      await page.close();
      figure({
        id: 'catch-up.vs-raw',
        title: `Catch-up of a new device: ${seeded.events.toLocaleString('en')} events of ${orders.toLocaleString('en')} orders from the feed`,
        unit: 'events/s',
        product: values.outpost,
        baseline: values.raw,
        baselineName: 'the same pages fetched and bulk-written by raw IndexedDB, one transaction per page',
        target: { op: '>=', value: 0.5 },
        extra: { seedS },
      });

      // Each round a new origin: an empty database, as on a new device.
      const firstRow = async (server) => {
        const fresh = await startStaticServer({ root: join(here, 'out'), apiTarget: server });
        sites.push(fresh);
        const app = await context.newPage();
        try {
          await app.goto(`${fresh.origin}/app.html?catch-up#/orders`);
          await app.waitForFunction(() => window.outpostApp !== undefined);
          const { listReadyMs } = await app.evaluate(() => window.outpostApp.started());
          return listReadyMs;
        } finally {
          await app.close();
        }
      };
      const rows = await interleave(['shop', 'tiny'], (which) => firstRow(which === 'shop' ? shop : tiny), {
        rounds: firstRows,
      });
      const median = summarize(rows.shop).median;
      const entry = figure({
        id: 'catch-up.first-row',
        title: `A new device: navigation to the first row of the orders list, a shop of ${orders.toLocaleString('en')} orders against one of 1`,
        unit: 'ms',
        product: rows.shop,
        baseline: rows.tiny,
        baselineName: 'the same on a shop of one order',
        notes: 'target: the first row within 2,000 ms (absolute); the ratio is informational',
      });
      entry.target = { op: '<=', value: 2000, of: 'ms' };
      entry.met = median <= 2000;
    } finally {
      for (const site of sites) await site.close().catch(() => {});
      if (!shop.skipped) await shop.stop().catch(() => {});
      if (!tiny.skipped) await tiny.stop().catch(() => {});
    }
  },

  /** 9. Bytes a first visit downloads before the app runs, and the production service worker. */
  async size({ tmp }) {
    const size = measureSize({ repo, outDir: join(tmp, 'app-dist') });
    const kb = (bytes) => bytes / 1000;
    figures.push({
      id: 'size.initial-js',
      title: 'Initial JavaScript (entry + static imports), gzip -9',
      unit: 'kB',
      product: { median: round(kb(size.initialGzip)) },
      baseline: null,
      ratio: null,
      target: { op: '<=', value: 130, of: 'kB' },
      met: kb(size.initialGzip) <= 130,
      extra: { files: size.files, css: size.css },
    });
    if (size.sw) {
      figures.push({
        id: 'size.service-worker',
        title: 'Production service worker sw.js, gzip -9',
        unit: 'kB',
        product: { median: round(kb(size.sw.gzip)) },
        baseline: null,
        ratio: null,
        target: { op: '<=', value: 30, of: 'kB' },
        met: kb(size.sw.gzip) <= 30,
        extra: { raw: size.sw.raw },
      });
    } else {
      errors.push({ case: 'size', error: 'the app build has no sw.js' });
    }
  },
};

/**
 * 10. The app path as history grows (issue 14): the real app (bench/page/app-main.tsx: `createOutpost` and
 * `App`, every subscriber, the Orders screen, the live status bar), offline, on a device already holding 0 …
 * 100,000 orders, commands one at a time through `outpost.execute`. Each size has an origin of its own (its
 * own static server), so its database, locks and channels are the app's own, as on a device; the bare paths
 * run in the bench page's origin, rounds interleaved with the app's.
 */
const variantsOf = (sizes) => [
  ...sizes.map((orders) => `app-${orders}`),
  'pipeline',
  'dexie',
  `seeded-${sizes[0]}`,
  `seeded-${sizes.at(-1)}`,
];

async function appPathCase({ call, context, page: benchPage }) {
  const { orders: sizes, commands, capMs, quietMs, coldStarts } = SIZES.appPath;
  const empty = sizes[0];
  const largest = sizes.at(-1);
  if (empty !== 0 || sizes.length < 2)
    throw new Error('appPath.orders must start at 0 and name a larger size');
  const sites = new Map();
  const apps = new Map();
  const seededPages = new Map();
  const seeds = {};
  const openApp = async (orders) => {
    const page = await context.newPage();
    page.on('pageerror', (error) => console.error(`app page error (${orders} orders): ${error.message}`));
    await page.goto(`${sites.get(orders).origin}/app.html#/orders`);
    await page.waitForFunction(() => window.outpostApp !== undefined);
    return page;
  };
  const appCall = (page, name, arg) => page.evaluate(([n, a]) => window.outpostApp[n](a), [name, arg]);
  const heapUsed = async (page) => {
    const cdp = await context.newCDPSession(page);
    try {
      await cdp.send('HeapProfiler.collectGarbage');
      await cdp.send('HeapProfiler.collectGarbage');
      const { usedSize } = await cdp.send('Runtime.getHeapUsage');
      return usedSize;
    } finally {
      await cdp.detach().catch(() => {});
    }
  };
  try {
    // Seeding, before any clock: one bulk write of the events, the core's rebuild, then the app's first start
    // on that history (whatever it does once, say an analytics fold catching up, is done before measuring).
    // Largest first: the disk work a large write leaves behind (LevelDB compactions) has the most time to
    // finish before the cold starts.
    for (const orders of [...sizes].reverse()) {
      sites.set(orders, await startStaticServer({ root: join(here, 'out') }));
      const seeder = await context.newPage();
      await seeder.goto(`${sites.get(orders).origin}/`);
      await seeder.waitForFunction(() => window.outpostBench !== undefined);
      const seed = await seeder.evaluate((n) => window.outpostBench.appSeed({ orders: n }), orders);
      await seeder.close();
      const firstStart = Date.now();
      const first = await openApp(orders);
      await appCall(first, 'quiet', { windowMs: 1000, capMs: 20 * 60_000 });
      await first.close();
      seeds[orders] = {
        events: seed.events,
        writeS: round(seed.writeMs / 1000),
        rebuildS: round(seed.rebuildMs / 1000),
        firstStartS: round((Date.now() - firstStart - 1000) / 1000),
      };
      process.stdout.write(`[${orders} seeded ${JSON.stringify(seeds[orders])}] `);
    }

    // A database just written keeps the disk busy for a while (the first cold starts on 100,000 orders took
    // 4–5× the later ones): cold starts until two in a row agree within 25 %, at most 8, none of them kept.
    const settling = {};
    for (const orders of [...sizes].reverse()) {
      let previous = null;
      for (let attempt = 1; attempt <= 8; attempt += 1) {
        const page = await openApp(orders);
        const { listReadyMs } = await appCall(page, 'started');
        await page.close();
        settling[orders] = attempt;
        if (previous !== null && Math.abs(listReadyMs - previous) <= 0.25 * Math.min(listReadyMs, previous))
          break;
        previous = listReadyMs;
      }
    }

    // Cold starts: a new page on the seeded database, navigation to the first list row; then the JS heap
    // once the app is quiet for a second, after two full collections.
    const cold = Object.fromEntries(
      sizes.map((orders) => [orders, { ms: [], heap: [], opened: [], storeOpen: [], appPart: [] }]),
    );
    await interleave(
      sizes,
      async (orders, r) => {
        const page = await openApp(orders);
        try {
          const { listReadyMs, outpostMs, storeOpenMs } = await appCall(page, 'started');
          await appCall(page, 'quiet', { windowMs: 1000, capMs: 120_000 });
          const heap = await heapUsed(page);
          if (r >= 0) {
            cold[orders].ms.push(listReadyMs);
            cold[orders].opened.push(outpostMs);
            cold[orders].storeOpen.push(storeOpenMs);
            cold[orders].appPart.push(listReadyMs - storeOpenMs);
            cold[orders].heap.push(heap / 2 ** 20);
          }
        } finally {
          await page.close();
        }
      },
      { rounds: coldStarts },
    );

    // Commands: one app page per size, open from here on; the bare paths in the bench page.
    for (const orders of sizes) {
      const page = await openApp(orders);
      await appCall(page, 'quiet', { windowMs: 500, capMs: 120_000 });
      apps.set(orders, page);
    }
    await call('bareSetup', { key: 'app-path-pipeline', variant: 'pipeline' });
    await call('bareSetup', { key: 'app-path-dexie', variant: 'dexie' });
    // The bare pipeline on the seeded databases of the smallest and largest sizes, from a bench page of each
    // size's origin: the same commands as the app's, on the same stores, with no page around them.
    for (const orders of [empty, largest]) {
      const page = await context.newPage();
      await page.goto(`${sites.get(orders).origin}/`);
      await page.waitForFunction(() => window.outpostBench !== undefined);
      await page.evaluate(() =>
        window.outpostBench.bareSetup({ key: 'seeded', variant: 'pipeline', seeded: true }),
      );
      seededPages.set(orders, page);
    }
    const latencies = Object.fromEntries(variantsOf(sizes).map((variant) => [variant, []]));
    const drain = Object.fromEntries(sizes.map((orders) => [`app-${orders}`, []]));
    const visibility = new Set();
    const variants = variantsOf(sizes);
    const values = await interleave(variants, async (variant, r) => {
      let result;
      if (variant.startsWith('app-')) {
        const page = apps.get(Number(variant.slice(4)));
        await page.bringToFront();
        visibility.add(await appCall(page, 'visibility'));
        result = await appCall(page, 'round', { commands, capMs, windowMs: quietMs });
        if (r >= 0) drain[variant].push((result.ms - result.commandsMs) / result.ms);
      } else if (variant.startsWith('seeded-')) {
        const page = seededPages.get(Number(variant.slice(7)));
        await page.bringToFront();
        result = await page.evaluate(
          (n) => window.outpostBench.bareRound({ key: 'seeded', commands: n }),
          commands,
        );
      } else {
        await benchPage.bringToFront();
        result = await call('bareRound', { key: `app-path-${variant}`, commands });
      }
      if (r >= 0) latencies[variant].push(...result.latencies);
      return rate(result.count, result.ms);
    });
    if (visibility.size !== 1 || !visibility.has('visible')) {
      throw new Error(`an app page ran its commands while ${[...visibility].join(', ')}`);
    }
    const latency = Object.fromEntries(
      Object.entries(latencies).map(([variant, samples]) => [
        variant,
        {
          samples: samples.length,
          p50: round(percentile(samples, 50)),
          p99: round(percentile(samples, 99)),
          ...(drain[variant] ? { reactionShare: round(summarize(drain[variant]).median) } : {}),
        },
      ]),
    );
    const extra = { appPath: { seeds, latency, commandsPerRound: commands, capMs } };
    const sizeName = (orders) => orders.toLocaleString('en');
    for (const orders of sizes.slice(1)) {
      figure({
        id: `app-path.orders-${orders}.vs-empty`,
        title: `App path: commands one at a time with ${sizeName(orders)} orders stored, against none`,
        unit: 'commands/s',
        product: values[`app-${orders}`],
        baseline: values['app-0'],
        baselineName: 'the same app with no order stored',
        target: { op: '>=', value: 0.8 },
        extra,
      });
    }
    figure({
      id: `app-path.pipeline-${largest}.vs-empty`,
      title: `The command pipeline alone on the app's database with ${sizeName(largest)} orders stored, against none`,
      unit: 'commands/s',
      product: values[`seeded-${largest}`],
      baseline: values[`seeded-${empty}`],
      baselineName: 'the same on the database with no order stored',
      notes:
        'informational: what a larger store costs IndexedDB for the same requests, with no app around them',
      extra,
    });
    figure({
      id: 'app-path.empty.vs-raw-dexie',
      title: 'App path with no order stored, against the bare write',
      unit: 'commands/s',
      product: values['app-0'],
      baseline: values.dexie,
      baselineName: 'raw Dexie transaction of the same rows, one command at a time',
      notes: 'informational: the app against the write with no outbox, no read model and no page around it',
      extra,
    });
    // The issue's "app path / bare path": the bare path is the command path on its own, what figure 1 measures.
    figure({
      id: 'app-path.empty.vs-pipeline',
      title: 'App path with no order stored, against the command pipeline alone',
      unit: 'commands/s',
      product: values['app-0'],
      baseline: values.pipeline,
      baselineName: 'Outpost command pipeline, no page around it',
      target: { op: '>=', value: 0.7 },
      extra,
    });
    figure({
      id: 'app-path.cold-start',
      title: `App path: navigation to the first list row with ${sizeName(largest)} orders stored, against none (empty state)`,
      unit: 'ms',
      product: cold[largest].ms,
      baseline: cold[empty].ms,
      baselineName: 'the same app with no order stored, to its empty state',
      target: { op: '<=', value: 1.5 },
      extra: {
        coldStartMs: Object.fromEntries(sizes.map((o) => [o, round(summarize(cold[o].ms).median)])),
        settlingStarts: settling,
        // Navigation to `createOutpost` resolved (page loaded, database opened, clientId read), by size.
        outpostReadyMs: Object.fromEntries(sizes.map((o) => [o, round(summarize(cold[o].opened).median)])),
        // The browser opening the origin's IndexedDB backing store, first thing in the page, by size.
        storeOpenMs: Object.fromEntries(sizes.map((o) => [o, round(summarize(cold[o].storeOpen).median)])),
      },
    });
    figure({
      id: 'app-path.cold-start.without-store-open',
      title: `App path: cold start less the browser's opening of the IndexedDB store, ${sizeName(largest)} orders against none`,
      unit: 'ms',
      product: cold[largest].appPart,
      baseline: cold[empty].appPart,
      baselineName: 'the same with no order stored',
      notes:
        "informational: the app's own part of the cold start; the browser's part (LevelDB opening a larger store) is in storeOpenMs",
      extra: {
        appPartMs: Object.fromEntries(sizes.map((o) => [o, round(summarize(cold[o].appPart).median)])),
      },
    });
    figure({
      id: 'app-path.heap',
      title: `App path: JS heap once started and quiet, ${sizeName(largest)} orders stored, against none`,
      unit: 'MB',
      product: cold[largest].heap,
      baseline: cold[empty].heap,
      baselineName: 'the same app with no order stored',
      target: { op: '<=', value: 2 },
      extra: { heapMb: Object.fromEntries(sizes.map((o) => [o, round(summarize(cold[o].heap).median)])) },
    });
  } finally {
    for (const page of [...apps.values(), ...seededPages.values()]) await page.close().catch(() => {});
    for (const site of sites.values()) await site.close().catch(() => {});
    await call('dropDb', 'app-path-pipeline').catch(() => {});
    await call('dropDb', 'app-path-dexie').catch(() => {});
  }
}

function chromiumVersion(executable) {
  const answer = spawnSync(executable, ['--version'], { encoding: 'utf8' });
  return (answer.stdout || '').trim().split('\n').pop() || 'unknown';
}

function printTable(elapsedMs) {
  const cell = (value) => (value === null || value === undefined ? '—' : String(value));
  const range = (s) =>
    s && s.min !== undefined ? `${s.median} [${s.min}–${s.max}]` : s ? String(s.median) : '—';
  const rows = figures.map((f) => [
    f.id,
    f.unit,
    range(f.product),
    f.baseline ? range(f.baseline) : '—',
    cell(f.ratio),
    f.target ? `${f.target.op} ${f.target.value}` : '—',
    f.met === null ? '—' : f.met ? 'yes' : 'NO',
  ]);
  const header = [
    'figure',
    'unit',
    'outpost median [min–max]',
    'baseline median [min–max]',
    'ratio',
    'target',
    'met',
  ];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const line = (cells) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
  console.log(line(header));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const row of rows) console.log(line(row));
  for (const f of figures) {
    if (f.extra?.longestTaskMs)
      console.log(`${f.id}: longest main-thread task ${JSON.stringify(f.extra.longestTaskMs)} ms`);
    if (f.extra?.p99 !== undefined) console.log(`${f.id}: ${JSON.stringify(f.extra)}`);
    if (f.extra?.networkShare)
      console.log(`${f.id}: share of time waiting on HTTP ${JSON.stringify(f.extra.networkShare)}`);
    if (f.notes && f.id.startsWith('heal.')) console.log(`${f.id}: ${f.notes}`);
    if (f.extra?.coldStartMs)
      console.log(`${f.id}: median ms by orders stored ${JSON.stringify(f.extra.coldStartMs)}`);
    if (f.extra?.outpostReadyMs)
      console.log(`${f.id}: createOutpost resolved at (ms) ${JSON.stringify(f.extra.outpostReadyMs)}`);
    if (f.extra?.heapMb) console.log(`${f.id}: median MB by orders stored ${JSON.stringify(f.extra.heapMb)}`);
  }
  const appPath = figures.find((f) => f.extra?.appPath)?.extra.appPath;
  if (appPath) {
    console.log(`app-path seeding (s): ${JSON.stringify(appPath.seeds)}`);
    for (const [variant, stats] of Object.entries(appPath.latency))
      console.log(`app-path latency ${variant}: ${JSON.stringify(stats)}`);
  }
  for (const error of errors) console.log(`ERROR in ${error.case}: ${error.error}`);
  console.log(`${quick ? 'quick' : 'full'} run, ${Math.round(elapsedMs / 1000)} s`);
}

async function main() {
  const started = Date.now();
  const loadBefore = os.loadavg();
  const tmp = mkdtempSync(join(os.tmpdir(), 'outpost-bench-'));
  const executablePath = CHROMIUM_PATH;
  let server = null;
  let staticServer = null;
  let context = null;
  const timings = {};
  try {
    const build = spawnSync(
      process.execPath,
      [join(repo, 'node_modules/vite/bin/vite.js'), 'build', '--config', join(here, 'vite.config.ts')],
      { cwd: repo, encoding: 'utf8' },
    );
    if (build.status !== 0) throw new Error(`bench page build failed: ${build.stderr || build.stdout}`);

    server = await startReferenceServer({ repo, dataDir: join(tmp, 'server-data') });
    staticServer = await startStaticServer({
      root: join(here, 'out'),
      apiTarget: server.skipped ? null : { host: server.host, port: server.port },
    });
    context = await chromium.launchPersistentContext(join(tmp, 'profile'), {
      executablePath,
      headless: true,
      args: LAUNCH_ARGS,
    });
    const page = context.pages()[0] ?? (await context.newPage());
    page.on('pageerror', (error) => console.error(`page error: ${error.message}`));
    await page.goto(`${staticServer.origin}/`);
    await page.waitForFunction(() => window.outpostBench !== undefined);
    const userAgent = await page.evaluate(() => window.outpostBench.userAgent());
    const call = (name, arg) => page.evaluate(([n, a]) => window.outpostBench[n](a), [name, arg]);

    const unknownFigures = [...(only ?? [])].filter((name) => !(name in CASES));
    if (unknownFigures.length > 0) {
      throw new Error(
        `unknown figure(s) ${unknownFigures.join(', ')}; known: ${Object.keys(CASES).join(', ')}`,
      );
    }
    for (const [name, run] of Object.entries(CASES)) {
      if (only && !only.has(name)) continue;
      const caseStart = Date.now();
      process.stdout.write(`${name}… `);
      try {
        await run({ call, server, tmp, context, page });
        console.log(`${Math.round((Date.now() - caseStart) / 1000)} s`);
      } catch (error) {
        console.log('failed');
        errors.push({ case: name, error: error instanceof Error ? error.message : String(error) });
      }
      timings[name] = Date.now() - caseStart;
    }

    const elapsed = Date.now() - started;
    printTable(elapsed);
    const results = {
      generatedAt: new Date().toISOString(),
      mode: quick ? 'quick' : 'full',
      sizes: SIZES,
      machine: {
        cpus: os.cpus().length,
        cpuModel: os.cpus()[0]?.model ?? 'unknown',
        memoryGb: round(os.totalmem() / 2 ** 30),
        node: process.version,
        chromium: chromiumVersion(executablePath),
        userAgent,
        platform: `${os.type()} ${os.release()}`,
        loadAverageBefore: loadBefore.map((value) => round(value)),
        loadAverageAfter: os.loadavg().map((value) => round(value)),
      },
      method:
        'Headless Chromium, persistent on-disk profile; each figure and its baseline in the same browser and run, ' +
        `rounds interleaved after ${SIZES.warmup} warm-up round(s); medians and min–max over ${SIZES.rounds} rounds; ` +
        'ratio = median(outpost) / median(baseline) (latency: p99 / raw p50).',
      elapsedMs: elapsed,
      caseMs: timings,
      figures,
      errors,
    };
    // Only a complete full run replaces the committed results; smoke and partial runs go next to the build.
    const out =
      only || quick
        ? join(here, 'out', `results.${quick ? 'quick' : 'partial'}.json`)
        : join(here, 'results.json');
    writeFileSync(out, `${JSON.stringify(results, null, 2)}\n`);
    console.log(`results written to ${out}`);
  } catch (error) {
    errors.push({
      case: 'harness',
      error: error instanceof Error ? (error.stack ?? error.message) : String(error),
    });
    console.error(error);
  } finally {
    await context?.close().catch(() => {});
    await staticServer?.close().catch(() => {});
    if (server && !server.skipped) await server.stop().catch(() => {});
    rmSync(tmp, { recursive: true, force: true });
  }
  process.exitCode = errors.length > 0 ? 1 : 0;
}

await main();
