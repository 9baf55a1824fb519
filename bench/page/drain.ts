import { createSyncEngine } from '../../src/outbox/device/sync/engine';
import { syncStorage } from '../../src/outbox/device/sync/sync-storage';
import { systemClock } from '../../src/outbox/ids';
import { PROTOCOL_VERSION } from '../../src/outbox/protocol/messages';
import type { StoredClientEvent } from '../../src/outbox/storage/rows';
import { clientId, ids, RowFactory, seedCommands } from './fixtures';
import { freshDb, openedDb, seedRows } from './setups';

/**
 * Draining pending events to the reference server on 127.0.0.1: Outpost's sync engine, a raw pipeline doing
 * only the physical work (read the next N after the last key, POST, delete in one transaction), and Workbox
 * Background Sync replaying a queue of one request per event from its own service worker.
 */
const PUSH_URL = '/api/sync/push';

export interface DrainResult {
  readonly count: number;
  readonly ms: number;
  readonly requests: number;
  /** Time spent waiting on HTTP (request sent to body read): the rest is local bookkeeping. */
  readonly networkMs: number;
}

let networkMs = 0;

/** fetch, with the time spent in it added to `networkMs`. */
async function timedFetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response> {
  const start = performance.now();
  const answer = await fetch(input, init);
  const body = await answer.arrayBuffer();
  networkMs += performance.now() - start;
  return new Response(body, {
    status: answer.status,
    statusText: answer.statusText,
    headers: answer.headers,
  });
}

const toWire = ({ kind: _kind, position: _position, occurredAt: _occurredAt, ...wire }: StoredClientEvent) =>
  wire;

export const pushBody = (events: readonly StoredClientEvent[]) =>
  JSON.stringify({ protocol: PROTOCOL_VERSION, clientId, batchId: ids(), events: events.map(toWire) });

async function post(body: string): Promise<void> {
  const answer = await timedFetch(PUSH_URL, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'Idempotency-Key': ids() },
    body,
  });
  if (!answer.ok) throw new Error(`push answered ${answer.status}: ${await answer.text()}`);
  await answer.json();
}

/** Fills a fresh database with `rows` pending events of the product's shape (untimed). */
export async function drainSetup({
  variant,
  rows,
}: {
  variant: 'outpost' | 'raw';
  rows: number;
}): Promise<number> {
  const db = await freshDb(`drain-${variant}`, 'strict');
  const eventsPerOrder = Math.min(20, rows);
  await seedRows(db, new RowFactory(), Math.ceil(rows / eventsPerOrder), eventsPerOrder);
  return db.outbox.count();
}

/** Drains what drainSetup left pending, timed. */
export async function drainRun({
  variant,
  batchSize,
}: {
  variant: 'outpost' | 'raw';
  batchSize: number;
}): Promise<DrainResult> {
  const db = openedDb(`drain-${variant}`);
  const pending = await db.outbox.count();
  let requests = 0;
  networkMs = 0;
  if (variant === 'outpost') {
    const engine = createSyncEngine({
      storage: syncStorage(db),
      streamTypes: db.streamTypes,
      transport: timedFetch,
      clock: systemClock,
      ids,
      clientId,
      baseUrl: '/api/sync',
      policy: { batchSize },
    });
    const start = performance.now();
    for (;;) {
      const report = await engine.flush();
      requests += Math.ceil(report.sent / batchSize);
      if (report.outcome === 'transient-failure' || report.outcome === 'auth-required') {
        throw new Error(`flush failed: ${JSON.stringify(report)}`);
      }
      if (report.sent === 0) break;
    }
    const ms = performance.now() - start;
    // A delivered row is deleted: every row left is an event the drain did not deliver.
    const left = await db.outbox.count();
    if (left !== 0) throw new Error(`outpost left ${left} of ${pending} rows undelivered`);
    return { count: pending, ms, requests, networkMs };
  }
  const start = performance.now();
  let after = 0;
  for (;;) {
    const page = (await db.events.where('position').above(after).limit(batchSize).toArray()).filter(
      (event): event is StoredClientEvent => event.kind === 'client',
    );
    const last = page.at(-1);
    if (last?.position === undefined) break;
    await post(pushBody(page));
    requests += 1;
    await db.outbox.bulkDelete(page.map((event) => event.eventId));
    after = last.position;
  }
  const ms = performance.now() - start;
  const left = await db.outbox.count();
  if (left !== 0) throw new Error(`raw pipeline left ${left} rows`);
  return { count: pending, ms, requests, networkMs };
}

let worker: Promise<ServiceWorker> | null = null;

function workboxWorker(): Promise<ServiceWorker> {
  worker ??= (async () => {
    const registration = await navigator.serviceWorker.register('/workbox-sw.js', {
      type: 'module',
      scope: '/',
    });
    await navigator.serviceWorker.ready;
    const active = registration.active ?? (await navigator.serviceWorker.ready).active;
    if (!active) throw new Error('the Workbox service worker did not activate');
    return active;
  })();
  return worker;
}

export function ask<T>(target: ServiceWorker, message: unknown): Promise<T> {
  return new Promise((resolve, reject) => {
    const channel = new MessageChannel();
    channel.port1.onmessage = (event: MessageEvent<{ ok: boolean; error?: string } & T>) => {
      if (event.data.ok) resolve(event.data);
      else reject(new Error(event.data.error ?? 'the service worker failed'));
    };
    target.postMessage(message, [channel.port2]);
  });
}

/** Workbox's queue filled with one push per event (how an app queues failed POSTs), then replayed. */
export async function workboxRound({ rows }: { rows: number }): Promise<DrainResult> {
  const target = await workboxWorker();
  const factory = new RowFactory();
  const eventsPerOrder = Math.min(20, rows);
  const { orderIds } = seedCommands(Math.ceil(rows / eventsPerOrder), 0);
  const bodies = orderIds.flatMap((orderId, n) =>
    Array.from({ length: eventsPerOrder }, () => pushBody([factory.next(orderId, n).event])),
  );
  const filled = await ask<{ size: number }>(target, { type: 'fill', url: PUSH_URL, bodies });
  if (filled.size !== bodies.length)
    throw new Error(`Workbox queue holds ${filled.size} of ${bodies.length}`);
  const replayed = await ask<{ ms: number; left: number }>(target, { type: 'replay' });
  if (replayed.left !== 0) throw new Error(`Workbox left ${replayed.left} requests`);
  return { count: bodies.length, ms: replayed.ms, requests: bodies.length, networkMs: Number.NaN };
}
