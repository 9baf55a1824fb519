import { setupServer } from 'msw/node';
import * as v from 'valibot';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { ManualClock, uuidv7Generator } from '../../../src/outbox/ids';
import {
  createFaultControl,
  type FaultSettings,
  NO_FAULTS,
  seededRandom,
} from '../../../src/outbox/mock/faults';
import { createMockBackend } from '../../../src/outbox/mock/mock-backend';
import { ErrorBodySchema, PushResponseSchema } from '../../../src/outbox/protocol/messages';
import { serverStreamTypes } from '../../../src/server-plugins';
import { OrderStreamBuilder } from '../../server/protocol-contract';

const BASE = 'http://outpost.test/api/sync';
const clock = new ManualClock();
const ids = uuidv7Generator(clock);
const backend = createMockBackend({ streamTypes: serverStreamTypes, clock, ids });
const server = setupServer(...backend.handlers);

beforeAll(() => server.listen({ onUnhandledRequest: 'error' }));
afterEach(() => {
  backend.faults.reset();
  vi.useRealTimers();
});
afterAll(() => server.close());

function newBatch() {
  const clientId = ids();
  const order = new OrderStreamBuilder(ids, clientId);
  const events = [order.created(), order.added('A-1', 1, 400), order.placed(400, 1)];
  return { clientId, order, events, body: JSON.stringify({ protocol: 1, clientId, batchId: ids(), events }) };
}

function push(body: string, signal?: AbortSignal): Promise<Response> {
  return fetch(`${BASE}/push`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
    ...(signal ? { signal } : {}),
  });
}

const storedVersion = (streamId: string) =>
  backend.storage.read(
    async (reader) => (await reader.streams([streamId])).get(streamId)?.events.at(-1)?.version ?? 0,
  );

async function expectErrorBody(response: Response, status: number): Promise<void> {
  expect(response.status).toBe(status);
  expect(response.headers.get('content-type')).toContain('application/json');
  v.parse(ErrorBodySchema, await response.json());
}

describe('the mock backend as a client sees each fault', () => {
  it('answers normally with no faults', async () => {
    const { body, order } = newBatch();
    const response = await push(body);
    expect(response.status).toBe(200);
    const answer = v.parse(PushResponseSchema, await response.json());
    expect(answer.results.map((result) => result.status)).toEqual(['accepted', 'accepted', 'accepted']);
    expect(await storedVersion(order.streamId)).toBe(3);
  });

  it('offline: every request fails as a network error, health included, and nothing is stored', async () => {
    backend.faults.set({ offline: true });
    const { body, order } = newBatch();
    await expect(push(body)).rejects.toThrow(TypeError);
    await expect(fetch(`${BASE}/health`)).rejects.toThrow(TypeError);
    expect(await storedVersion(order.streamId)).toBe(0);
  });

  it('latency: the answer arrives only after the configured delay', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    backend.faults.set({ latencyMs: 2_000 });
    let settled = false;
    const pending = fetch(`${BASE}/health`).then((response) => {
      settled = true;
      return response;
    });
    await vi.advanceTimersByTimeAsync(1_999);
    expect(settled).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect((await pending).status).toBe(200);
  });

  it('500: an error body, and nothing stored', async () => {
    backend.faults.set({ failureRate: 1, failureKinds: ['500'] });
    const { body, order } = newBatch();
    await expectErrorBody(await push(body), 500);
    expect(await storedVersion(order.streamId)).toBe(0);
  });

  it('503: an error body with Retry-After in seconds', async () => {
    backend.faults.set({ failureRate: 1, failureKinds: ['503'], retryAfterSeconds: 7 });
    const response = await push(newBatch().body);
    expect(response.headers.get('retry-after')).toBe('7');
    await expectErrorBody(response, 503);
  });

  it('network: the request fails like a dropped connection', async () => {
    backend.faults.set({ failureRate: 1, failureKinds: ['network'] });
    const { body, order } = newBatch();
    await expect(push(body)).rejects.toThrow(TypeError);
    expect(await storedVersion(order.streamId)).toBe(0);
  });

  it('timeout: no answer ever comes, until the client aborts', async () => {
    backend.faults.set({ failureRate: 1, failureKinds: ['timeout'] });
    const { body, order } = newBatch();
    const controller = new AbortController();
    let settled = false;
    const pending = push(body, controller.signal).finally(() => {
      settled = true;
    });
    // Let the request travel through msw and every pending promise run: still no answer.
    for (let turn = 0; turn < 20; turn += 1) await new Promise((resolve) => setImmediate(resolve));
    expect(settled).toBe(false);
    controller.abort();
    await expect(pending).rejects.toMatchObject({ name: 'AbortError' });
    expect(await storedVersion(order.streamId)).toBe(0);
  });

  it('429: rate limited with Retry-After, nothing stored', async () => {
    backend.faults.set({ rateLimit: { retryAfterSeconds: 30 } });
    const { body, order } = newBatch();
    const response = await push(body);
    expect(response.headers.get('retry-after')).toBe('30');
    await expectErrorBody(response, 429);
    expect(await storedVersion(order.streamId)).toBe(0);
  });

  it('ack lost: the batch is stored, the client sees a network error, and its resend is all duplicate', async () => {
    backend.faults.set({ ackLossRate: 1 });
    const { body, order } = newBatch();
    await expect(push(body)).rejects.toThrow(TypeError);
    expect(await storedVersion(order.streamId)).toBe(3);

    backend.faults.set({ ackLossRate: 0 });
    const answer = v.parse(PushResponseSchema, await (await push(body)).json());
    expect(answer.results.map((result) => result.status)).toEqual(['duplicate', 'duplicate', 'duplicate']);
    expect(answer.serverEvents).toEqual([]);
    expect(await storedVersion(order.streamId)).toBe(3);
  });

  it('captive portal: 200 with an HTML page that is no protocol answer, nothing stored', async () => {
    backend.faults.set({ captivePortal: true });
    const { body, order } = newBatch();
    const response = await push(body);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/html');
    const text = await response.text();
    expect(text).toMatch(/^<!doctype html>/i);
    expect(() => v.parse(PushResponseSchema, JSON.parse(text))).toThrow();
    expect(await storedVersion(order.streamId)).toBe(0);
  });

  it('unauthorized: 401 with an error body on sync routes, health still answers', async () => {
    backend.faults.set({ unauthorized: true });
    const { body, order } = newBatch();
    const response = await push(body);
    expect(response.headers.get('www-authenticate')).toBe('Bearer');
    await expectErrorBody(response, 401);
    expect((await fetch(`${BASE}/health`)).status).toBe(200);
    expect(await storedVersion(order.streamId)).toBe(0);
  });

  it('413: a push over the configured size is refused whole, a smaller one goes through', async () => {
    const { body, events, clientId, order } = newBatch();
    backend.faults.set({ maxBodyBytes: body.length - 1 });
    await expectErrorBody(await push(body), 413);
    expect(await storedVersion(order.streamId)).toBe(0);
    const smaller = JSON.stringify({ protocol: 1, clientId, batchId: ids(), events: events.slice(0, 1) });
    expect((await push(smaller)).status).toBe(200);
    expect(await storedVersion(order.streamId)).toBe(1);
  });

  it('fails the same requests again under the same seed, so a flaky run can be replayed', async () => {
    const outcomes = async (seed: number) => {
      const local = createMockBackend({
        streamTypes: serverStreamTypes,
        clock,
        ids,
        faults: createFaultControl({ failureRate: 0.5, failureKinds: ['500', '503'] }, seededRandom(seed)),
      });
      const statuses: number[] = [];
      for (let index = 0; index < 20; index += 1) {
        statuses.push((await local.fetch(new Request(`${BASE}/health`))).status);
      }
      return statuses;
    };
    const first = await outcomes(42);
    expect(await outcomes(42)).toEqual(first);
    expect(new Set(first)).toEqual(new Set([200, 500, 503]));
  });

  it('backend.fetch rejects with a TypeError on a network fault, as fetch does, for use inside a worker', async () => {
    const local = createMockBackend({
      streamTypes: serverStreamTypes,
      clock,
      ids,
      faults: createFaultControl({ offline: true }),
    });
    await expect(local.fetch(new Request(`${BASE}/health`))).rejects.toThrow(TypeError);
    local.faults.set({ offline: false });
    expect((await local.fetch(new Request(`${BASE}/health`))).status).toBe(200);
  });
});

describe('fault control', () => {
  it('refuses a bad change whole and keeps the settings in force', () => {
    const faults = createFaultControl();
    const refused = faults.set({ failureRate: 2, offline: true });
    expect(refused.ok).toBe(false);
    expect(!refused.ok && refused.error.byField()).toHaveProperty('failureRate');
    expect(faults.settings).toEqual(NO_FAULTS);
  });

  it('tells observers about each change and reset, and stops after unsubscribe', () => {
    const faults = createFaultControl({ latencyMs: 10 });
    const seen: FaultSettings[] = [];
    const streamed: boolean[] = [];
    const unsubscribe = faults.subscribe((settings) => seen.push(settings));
    const subscription = faults.settings$.subscribe((settings) => streamed.push(settings.offline));
    faults.set({ offline: true });
    faults.reset();
    unsubscribe();
    faults.set({ captivePortal: true });
    subscription.unsubscribe();
    expect(seen.map((settings) => [settings.offline, settings.latencyMs])).toEqual([
      [true, 10],
      [false, 10],
    ]);
    expect(streamed).toEqual([false, true, false, false]);
  });

  it('refuses to start from bad settings', () => {
    expect(() => createFaultControl({ latencyMs: -1 })).toThrow();
  });
});
