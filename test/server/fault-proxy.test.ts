import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { uuidv7Generator } from '../../src/outbox/ids';
import type { WireClientEvent } from '../../src/outbox/protocol/messages';
import { type FaultProxy, type Faults, startFaultProxy } from '../browser/support/fault-proxy';
import { OrderStreamBuilder } from './protocol-contract';
import {
  type ServerProcess,
  startServerProcess,
  stopAllServers,
  tempDir,
  writeFakeDist,
} from './support/server-process';

/**
 * The fault proxy the liveness browser tests stand behind: each fault does what it says to a real reference
 * server process, and only to the sync requests.
 */

const temp = tempDir('fault-proxy');
const ids = uuidv7Generator();
let server: ServerProcess;
let proxy: FaultProxy | null = null;

beforeAll(async () => {
  const distDir = join(temp.path, 'dist');
  writeFakeDist(distDir);
  server = await startServerProcess({ dataDir: join(temp.path, 'data'), distDir });
});

afterEach(async () => {
  await proxy?.close();
  proxy = null;
});

afterAll(async () => {
  await stopAllServers();
  temp.remove();
});

async function through(faults: Partial<Faults>, seed = 1): Promise<FaultProxy> {
  proxy = await startFaultProxy({ upstream: server.origin, seed, faults });
  return proxy;
}

/** One whole order as a push body, from a client of its own so the server's pull shows only its decision. */
function order(): { clientId: string; events: WireClientEvent[]; body: string } {
  const clientId = ids();
  const stream = new OrderStreamBuilder(ids, clientId);
  const events = [
    stream.created('Harbour Café'),
    stream.added('COF-ESP-1KG', 2, 2490),
    stream.placed(4980, 1),
  ];
  return { clientId, events, body: JSON.stringify({ protocol: 1, clientId, batchId: ids(), events }) };
}

const push = (origin: string, body: string) =>
  fetch(`${origin}/api/sync/push`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });

async function storedCount(): Promise<number> {
  const response = await fetch(`${server.baseUrl}/stats`);
  const stats = (await response.json()) as { eventsStored: number };
  return stats.eventsStored;
}

describe('fault proxy', () => {
  it('forwards the shell, the worker script, health and the API unchanged when healthy', async () => {
    const { origin } = await through({});
    const shell = await fetch(`${origin}/`);
    expect(shell.status).toBe(200);
    expect(await shell.text()).toContain('<title>Outpost</title>');
    const worker = await fetch(`${origin}/sw.js`);
    expect(worker.headers.get('cache-control')).toBe('no-cache');
    expect((await fetch(`${origin}/api/sync/health`)).status).toBe(200);
    const before = await storedCount();
    const answer = await push(origin, order().body);
    expect(answer.status).toBe(200);
    expect(((await answer.json()) as { results: unknown[] }).results).toHaveLength(3);
    expect(await storedCount()).toBe(before + 3);
    expect(proxy?.counters()).toMatchObject({ pushes: 1, forwarded: 1 });
  });

  it('refuses with 503 and Retry-After 1 without reaching the server', async () => {
    const { origin } = await through({ refuseRate: 1, refuseKinds: ['503'] });
    const before = await storedCount();
    const answer = await push(origin, order().body);
    expect(answer.status).toBe(503);
    expect(answer.headers.get('retry-after')).toBe('1');
    expect(await storedCount()).toBe(before);
    expect(proxy?.counters()).toMatchObject({ pushes: 1, refused503: 1, forwarded: 0 });
  });

  it('drops the connection unanswered without reaching the server', async () => {
    const { origin } = await through({ refuseRate: 1, refuseKinds: ['drop'] });
    const before = await storedCount();
    await expect(push(origin, order().body)).rejects.toThrow();
    expect(await storedCount()).toBe(before);
    expect(proxy?.counters()).toMatchObject({ dropped: 1, forwarded: 0 });
  });

  it('loses the answer after the server stored the batch', async () => {
    const { origin } = await through({ ackLossRate: 1 });
    const before = await storedCount();
    const { body } = order();
    await expect(push(origin, body)).rejects.toThrow();
    expect(await storedCount()).toBe(before + 3);
    expect(proxy?.counters()).toMatchObject({ forwarded: 1, answersLost: 1 });
    // The same batch again, healed: the server answers duplicate and stores nothing new.
    proxy?.heal();
    const again = await push(origin, body);
    const results = ((await again.json()) as { results: { status: string }[] }).results;
    expect(results.map((result) => result.status)).toEqual(['duplicate', 'duplicate', 'duplicate']);
    expect(await storedCount()).toBe(before + 3);
  });

  it('answers 200 text/html like a captive portal', async () => {
    const { origin } = await through({ captivePortalRate: 1 });
    const before = await storedCount();
    const answer = await push(origin, order().body);
    expect(answer.status).toBe(200);
    expect(answer.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await answer.text()).toContain('Wi-Fi');
    const pull = await fetch(`${origin}/api/sync/pull?clientId=${ids()}`);
    expect(pull.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await storedCount()).toBe(before);
    expect(proxy?.counters()).toMatchObject({ pushes: 1, pulls: 1, captivePortal: 2 });
  });

  it('answers 429 with Retry-After 2', async () => {
    const { origin } = await through({ rateLimitRate: 1 });
    const answer = await push(origin, order().body);
    expect(answer.status).toBe(429);
    expect(answer.headers.get('retry-after')).toBe('2');
  });

  it('never touches health or static files, whatever the rates', async () => {
    const { origin } = await through({ refuseRate: 0.5, refuseKinds: ['drop'], captivePortalRate: 0.5 });
    for (let i = 0; i < 10; i += 1) {
      expect((await fetch(`${origin}/api/sync/health`)).status).toBe(200);
      expect((await fetch(`${origin}/sw.js`)).status).toBe(200);
    }
    expect(proxy?.counters()).toMatchObject({ pushes: 0, pulls: 0, dropped: 0, captivePortal: 0 });
  });

  it('makes the whole server unreachable during an outage, static files too, until healed', async () => {
    const { origin } = await through({});
    expect((await fetch(`${origin}/`)).status).toBe(200);
    proxy?.set({ outage: true });
    await expect(fetch(`${origin}/`)).rejects.toThrow();
    await expect(fetch(`${origin}/api/sync/health`)).rejects.toThrow();
    await expect(push(origin, order().body)).rejects.toThrow();
    expect(proxy?.counters().outageKills).toBeGreaterThanOrEqual(3);
    proxy?.heal();
    expect((await fetch(`${origin}/api/sync/health`)).status).toBe(200);
  });

  it('holds a stored push in flight until released', async () => {
    const { origin } = await through({ holdPushes: true });
    const before = await storedCount();
    const pending = push(origin, order().body);
    await proxy?.whenPushHeld(5_000);
    // The server has stored it while the client still waits for the answer.
    expect(await storedCount()).toBe(before + 3);
    let answered = false;
    void pending.then(() => {
      answered = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(answered).toBe(false);
    expect(proxy?.releaseHeld()).toBe(1);
    const answer = await pending;
    expect(answer.status).toBe(200);
    expect(proxy?.counters()).toMatchObject({ forwarded: 1, held: 1 });
  });

  it('replays the same decisions for the same seed', async () => {
    const decisions = async (seed: number) => {
      const { origin } = await through({ refuseRate: 0.3, refuseKinds: ['503'], rateLimitRate: 0.3 }, seed);
      const statuses: number[] = [];
      for (let i = 0; i < 20; i += 1) {
        statuses.push((await fetch(`${origin}/api/sync/pull?clientId=${ids()}`)).status);
      }
      await proxy?.close();
      proxy = null;
      return statuses;
    };
    const first = await decisions(7);
    expect(await decisions(7)).toEqual(first);
    expect(new Set(first)).toEqual(new Set([200, 429, 503]));
    expect(await decisions(8)).not.toEqual(first);
  });
});
