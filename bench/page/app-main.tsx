import Dexie from 'dexie';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { BehaviorSubject } from 'rxjs';
import { createOutpost, type Outpost } from '../../src/app/outpost';
import { DB_NAME } from '../../src/outbox/page/database';
import type { NetworkPort } from '../../src/outbox/page/outbox';
import type { WorkerHandle } from '../../src/outbox/page/register-worker';
import { WorkerRequestError } from '../../src/outbox/page/register-worker';
import { App } from '../../src/ui/app';
import { appPathCommands } from './app-commands';

/**
 * The real app for the app-path figure (bench/run.mjs `app-path`), built as src/main.tsx builds it: the
 * composition root `createOutpost` and `App`, so every subscriber, the live status bar and the Orders screen
 * (#/orders) run, on the app's own database (`outpost`) of this origin, which the bench seeded beforehand.
 * Offline: the network port says offline, so page sync starts but sends nothing; there is no service
 * worker (fallback mode), and a transport that is never expected to be called. Everything else (Web Locks,
 * the channel, the storage estimate) is the browser's own.
 *
 * Node drives it through `window.outpostApp`: when the list was first ready (cold start), waiting for the
 * app to go quiet, and rounds of commands through `outpost.execute`, the call the forms make.
 */

const started = performance.now();
location.hash = '#/orders';
/**
 * `?catch-up`: a new device. Online, on an empty database, reading the shop's history through the feed from
 * the reference server behind this origin; the cold start ends at the first row of the list (never at the
 * empty state it shows before the first page arrived).
 */
const catchingUp = new URLSearchParams(location.search).has('catch-up');

/** Time of the latest activity: a write to this origin's databases, a change on screen, or a long task. */
let lastActivity = performance.now();
const touch = () => {
  lastActivity = performance.now();
};
Dexie.on('storagemutated', touch);
// A read writes nothing and may change nothing on screen, yet keeps the main thread busy (decoding a large
// row, validating it): a long task counts as activity too, up to its end. No wrapper on the product's calls.
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    lastActivity = Math.max(lastActivity, entry.startTime + entry.duration);
  }
}).observe({ type: 'longtask', buffered: true });

let transportCalls = 0;
const offline: NetworkPort = { isOnline: () => false, online$: new BehaviorSubject(false) };
const noWorker: WorkerHandle = {
  registration: new Promise<ServiceWorkerRegistration>(() => undefined),
  update$: new BehaviorSubject(false),
  applyUpdate: () => undefined,
  request: async () => {
    throw new WorkerRequestError('no_worker', 'No service worker in the app-path benchmark');
  },
};

/** First moment the Orders screen shows a row of the list, or its empty state when there is no order. */
const listReady = new Promise<number>((resolve) => {
  const check = () => {
    const row = document.querySelector('.orders__row .stream-row');
    if (row || (!catchingUp && document.querySelector('.orders .empty'))) {
      observer.disconnect();
      resolve(performance.now());
      return true;
    }
    return false;
  };
  const observer = new MutationObserver(() => void check());
  observer.observe(document.body, { childList: true, subtree: true });
});

const container = document.getElementById('root');
if (!container) throw new Error('app.html has no #root');
const root = createRoot(container);
// Changes inside <main> (the Orders screen) count as activity; the status bar's clock ticks every second and
// does not.
new MutationObserver((mutations) => {
  for (const { target } of mutations) {
    const element = target instanceof Element ? target : target.parentElement;
    if (element?.closest('#main')) {
      touch();
      return;
    }
  }
}).observe(container, { childList: true, subtree: true, characterData: true, attributes: true });

/**
 * The browser's own part of a cold start, apart from the app's: opening this origin's IndexedDB backing store
 * (its LevelDB files), which takes longer the more the device holds and which any page reading IndexedDB pays
 * on its first open. A bare open of the database with no version, closed at once; the app's own open right
 * after finds the store open. From the moment the module runs, so the page's load is not in it.
 */
const storeOpen: Promise<{ readonly from: number; readonly to: number }> = new Promise((resolve) => {
  const from = performance.now();
  // A new device has no store to open: the app makes it.
  if (catchingUp) {
    resolve({ from, to: from });
    return;
  }
  const request = indexedDB.open(DB_NAME);
  // The bench seeded the database: were it missing, leave it uncreated for the app to make.
  request.onupgradeneeded = () => request.transaction?.abort();
  request.onsuccess = () => {
    request.result.close();
    resolve({ from, to: performance.now() });
  };
  request.onerror = () => resolve({ from, to: performance.now() });
});

/** When `createOutpost` resolved: the database open and the clientId read, before the first render. */
let outpostAt = 0;
const outpostReady: Promise<Outpost> = storeOpen
  .then(() =>
    catchingUp
      ? createOutpost({ syncMode: 'fallback', worker: noWorker })
      : createOutpost({
          syncMode: 'fallback',
          worker: noWorker,
          network: offline,
          transport: async () => {
            transportCalls += 1;
            throw new TypeError('offline: the app-path benchmark sends nothing');
          },
        }),
  )
  .then((outpost) => {
    outpostAt = performance.now();
    root.render(
      <StrictMode>
        <App outpost={outpost} />
      </StrictMode>,
    );
    return outpost;
  });

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Resolves once nothing was written, nothing changed on the Orders screen and no long task ran for `windowMs`,
 * with the time of the last activity (ms on this page's clock), or throws after `capMs`.
 */
async function quiet(windowMs: number, capMs: number): Promise<number> {
  const start = performance.now();
  for (;;) {
    const now = performance.now();
    if (now - lastActivity >= windowMs) return lastActivity;
    if (now - start > capMs) throw new Error(`the app was still busy ${Math.round(capMs / 1000)} s later`);
    await sleep(Math.min(50, windowMs / 4));
  }
}

export interface AppRound {
  readonly count: number;
  /** From the first command to the end of the app's reaction to the last (its last write or screen change). */
  readonly ms: number;
  /** From the first command to the last command's answer. */
  readonly commandsMs: number;
  /** Each command's own duration, issue to answer, as the form that issued it waits for it. */
  readonly latencies: readonly number[];
}

let ordersMade = 0;

const app = {
  /** Cold start: navigation start (the page's time origin) to the first list row, or the empty state. */
  async started(): Promise<{
    moduleMs: number;
    storeOpenMs: number;
    outpostMs: number;
    listReadyMs: number;
  }> {
    await outpostReady;
    const { from, to } = await storeOpen;
    return { moduleMs: started, storeOpenMs: to - from, outpostMs: outpostAt, listReadyMs: await listReady };
  },
  async quiet({ windowMs, capMs }: { windowMs: number; capMs: number }): Promise<number> {
    await listReady;
    return quiet(windowMs, capMs);
  },
  /** Up to `commands` commands one at a time (or until `capMs` passed), then the wait for the app to go quiet. */
  async round({
    commands,
    capMs,
    windowMs,
  }: {
    commands: number;
    capMs: number;
    windowMs: number;
  }): Promise<AppRound> {
    const outpost = await outpostReady;
    await listReady;
    const requests = appPathCommands(commands, 1_000_000 + ordersMade);
    ordersMade += Math.ceil(commands / 2);
    const latencies: number[] = [];
    const start = performance.now();
    for (const request of requests) {
      // Stop only after an AddProduct, so every order made has its product.
      if (latencies.length % 2 === 0 && performance.now() - start > capMs) break;
      const at = performance.now();
      const result = await outpost.execute(request);
      latencies.push(performance.now() - at);
      if (!result.ok) throw result.error;
    }
    const commandsEnd = performance.now();
    const last = await quiet(windowMs, 120_000);
    if (transportCalls > 0) throw new Error(`the app called its transport ${transportCalls} times offline`);
    return {
      count: latencies.length,
      ms: Math.max(commandsEnd, last) - start,
      commandsMs: commandsEnd - start,
      latencies,
    };
  },
  visibility: async () => document.visibilityState,
  transportCalls: async () => transportCalls,
};

export type BenchApp = typeof app;

declare global {
  interface Window {
    outpostApp?: BenchApp;
  }
}

window.outpostApp = app;
