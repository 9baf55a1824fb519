#!/usr/bin/env node
/**
 * Where one bench round spends main-thread time: a CPU profile (Chrome DevTools Protocol sampling profiler)
 * of one round, printed as self time per function and the share of idle time (waiting on IndexedDB).
 *
 *   node bench/profile.mjs append outpost strict 300
 *   node bench/profile.mjs append dexie relaxed 300
 *   node bench/profile.mjs drain outpost 100 10000      (batch size, rows; raw for the raw pipeline)
 *   node bench/profile.mjs app-path 10000 100            (orders stored, commands: the real app, offline)
 *
 * Run `node bench/run.mjs --quick --only=size` (or any run) first so bench/out is built.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { CHROMIUM_PATH, LAUNCH_ARGS } from './lib/chromium.mjs';
import { startReferenceServer } from './lib/reference-server.mjs';
import { startStaticServer } from './lib/static-server.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const [, , what = 'append', variant = 'outpost', durability = 'strict', countArg = '300'] = process.argv;
const commands = Number(countArg);

const tmp = mkdtempSync(join(os.tmpdir(), 'outpost-profile-'));
const api =
  what === 'drain' ? await startReferenceServer({ repo: dirname(here), dataDir: join(tmp, 'data') }) : null;
if (api?.skipped) throw new Error(api.skipped);
const server = await startStaticServer({ root: join(here, 'out'), apiTarget: api });
const context = await chromium.launchPersistentContext(join(tmp, 'profile'), {
  executablePath: CHROMIUM_PATH,
  headless: true,
  args: LAUNCH_ARGS,
});
try {
  const page = context.pages()[0] ?? (await context.newPage());
  // Counts IndexedDB calls by kind: round trips are what a transaction waits on, and counting them is
  // immune to the noise of a shared machine.
  await context.addInitScript(() => {
    const counts = {};
    globalThis.__idbCounts = counts;
    const wrap = (proto, name, label) => {
      const original = proto[name];
      proto[name] = function (...args) {
        counts[label] = (counts[label] ?? 0) + 1;
        return original.apply(this, args);
      };
    };
    for (const name of [
      'get',
      'getAll',
      'getKey',
      'getAllKeys',
      'put',
      'add',
      'delete',
      'openCursor',
      'count',
      'clear',
    ])
      wrap(IDBObjectStore.prototype, name, `store.${name}`);
    for (const name of ['get', 'getAll', 'getKey', 'getAllKeys', 'openCursor', 'openKeyCursor', 'count'])
      wrap(IDBIndex.prototype, name, `index.${name}`);
    wrap(IDBCursor.prototype, 'continue', 'cursor.continue');
    wrap(IDBDatabase.prototype, 'transaction', 'transaction');
  });
  await page.goto(`${server.origin}/`);
  await page.waitForFunction(() => window.outpostBench !== undefined);
  const call = (name, arg) => page.evaluate(([n, a]) => window.outpostBench[n](a), [name, arg]);
  const key = `profile-${variant}`;
  let round;
  // The page profiled: the bench page, or the app's own page for app-path.
  let target = page;
  if (what === 'app-path') {
    // variant = orders stored, durability = commands (CreateOrder, AddProduct, …).
    const seeded = await call('appSeed', { orders: Number(variant) });
    console.log(`seeded ${JSON.stringify(seeded)}`);
    target = await context.newPage();
    await target.goto(`${server.origin}/app.html#/orders`);
    await target.waitForFunction(() => window.outpostApp !== undefined);
    const app = (name, arg) => target.evaluate(([n, a]) => window.outpostApp[n](a), [name, arg]);
    await app('quiet', { windowMs: 1000, capMs: 20 * 60_000 });
    await app('round', { commands: 10, capMs: 60_000, windowMs: 300 });
    round = () => app('round', { commands: Number(durability), capMs: 10 * 60_000, windowMs: 300 });
  } else if (what === 'drain') {
    const batchSize = Number(durability);
    await call('drainSetup', { variant, rows: 200 });
    await call('drainRun', { variant, batchSize });
    await call('drainSetup', { variant, rows: commands });
    round = () => call('drainRun', { variant, batchSize });
  } else {
    // BENCH_BACKLOG=100000 adds that many pending outbox rows of other orders first.
    const backlog = Number(process.env.BENCH_BACKLOG ?? 0);
    await call('appendSetup', { key, variant, durability, orders: 200, eventsPerOrder: 20, backlog });
    await call('appendRound', { key, commands: 50 });
    round = () => call('appendRound', { key, commands });
  }
  const cdp = await context.newCDPSession(target);
  await cdp.send('Profiler.enable');
  await cdp.send('Profiler.setSamplingInterval', { interval: 100 });
  await cdp.send('Profiler.start');
  await target.evaluate(() => {
    for (const key of Object.keys(globalThis.__idbCounts)) delete globalThis.__idbCounts[key];
  });
  const timed = await round();
  const counts = await target.evaluate(() => ({ ...globalThis.__idbCounts }));
  const { profile } = await cdp.send('Profiler.stop');
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const self = new Map();
  const deltas = profile.timeDeltas;
  let total = 0;
  profile.samples.forEach((id, index) => {
    const node = byId.get(id);
    const dt = (deltas[index] ?? 0) / 1000;
    total += dt;
    const frame = node.callFrame;
    const file = frame.url.split('/').pop() || '';
    const name = `${frame.functionName || '(anonymous)'} ${file}:${frame.lineNumber}`;
    self.set(name, (self.get(name) ?? 0) + dt);
  });
  const rows = [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, 25);
  console.log(
    `${variant} ${durability}: ${timed.count} commands in ${timed.ms.toFixed(0)} ms (${((timed.count * 1000) / timed.ms).toFixed(0)}/s); profiled ${total.toFixed(0)} ms`,
  );
  const per = what === 'drain' ? Math.ceil(timed.count / Number(durability)) : timed.count;
  console.log(
    `IndexedDB calls per ${what === 'drain' ? 'batch' : 'command'}:`,
    JSON.stringify(
      Object.fromEntries(Object.entries(counts).map(([k, v]) => [k, Math.round((v / per) * 10) / 10])),
    ),
  );
  for (const [name, ms] of rows)
    console.log(`${ms.toFixed(1).padStart(8)} ms ${((ms / total) * 100).toFixed(1).padStart(5)}%  ${name}`);
  // Inclusive time (self plus callees) per function, each function counted once per stack.
  const nodeSelf = new Map();
  profile.samples.forEach((id, index) => {
    nodeSelf.set(id, (nodeSelf.get(id) ?? 0) + (deltas[index] ?? 0) / 1000);
  });
  const inclusive = new Map();
  const label = (node) =>
    `${node.callFrame.functionName || '(anonymous)'} ${node.callFrame.url.split('/').pop() || ''}:${node.callFrame.lineNumber}`;
  const walk = (node, onStack) => {
    let sum = nodeSelf.get(node.id) ?? 0;
    const name = label(node);
    const fresh = !onStack.has(name);
    if (fresh) onStack.add(name);
    for (const child of node.children ?? []) sum += walk(byId.get(child), onStack);
    if (fresh) {
      onStack.delete(name);
      inclusive.set(name, (inclusive.get(name) ?? 0) + sum);
    }
    return sum;
  };
  walk(profile.nodes[0], new Set());
  console.log('inclusive (self + callees):');
  for (const [name, ms] of [...inclusive.entries()]
    .filter(([name]) => !name.startsWith('(root)'))
    .sort((a, b) => b[1] - a[1])
    .slice(0, 30))
    console.log(`${ms.toFixed(1).padStart(8)} ms ${((ms / total) * 100).toFixed(1).padStart(5)}%  ${name}`);
  if (what === 'app-path') {
    const sorted = [...timed.latencies].sort((a, b) => a - b);
    const at = (p) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
    console.log(`command latency p50 ${at(50).toFixed(1)} ms, p99 ${at(99).toFixed(1)} ms`);
  } else if (what !== 'drain') await call('dropDb', key);
} finally {
  await context.close();
  await server.close();
  await api?.stop();
  rmSync(tmp, { recursive: true, force: true });
}
