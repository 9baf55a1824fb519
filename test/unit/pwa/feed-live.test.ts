import { describe, expect, it } from 'vitest';
import { type FeedLiveDeps, openFeedLive } from '../../../src/outbox/page/feed-live';

/**
 * The live channel's client as a timeline: it reads the feed on every poke, stops for good on a server
 * without the feed, and while the channel is down it reads the feed on a timer and reconnects with backoff.
 */

interface Timer {
  readonly at: number;
  readonly callback: () => void;
}

/** Timers that run when the test moves the clock. */
function manualTimers() {
  let now = 0;
  const timers = new Set<Timer>();
  return {
    setTimer: (callback: () => void, delayMs: number) => {
      const timer = { at: now + delayMs, callback };
      timers.add(timer);
      return timer;
    },
    clearTimer: (handle: unknown) => {
      timers.delete(handle as Timer);
    },
    async advance(ms: number) {
      const until = now + ms;
      for (;;) {
        const due = [...timers].filter((timer) => timer.at <= until).sort((a, b) => a.at - b.at)[0];
        if (!due) break;
        timers.delete(due);
        now = due.at;
        due.callback();
        await settle();
      }
      now = until;
    },
  };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

/** An event stream the test writes to, as the server's answer body. */
function channel() {
  const encoder = new TextEncoder();
  let controller: ReadableStreamDefaultController<Uint8Array> | null = null;
  const body = new ReadableStream<Uint8Array>({
    start(given) {
      controller = given;
    },
  });
  return {
    response: new Response(body, { status: 200, headers: { 'content-type': 'text/event-stream' } }),
    poke: (cursor: string) =>
      controller?.enqueue(encoder.encode(`event: feed\ndata: {"cursor":"${cursor}"}\n\n`)),
    comment: () => controller?.enqueue(encoder.encode(': still here\n\n')),
    end: () => controller?.close(),
  };
}

function live(answers: (() => Response | Promise<Response>)[], overrides: Partial<FeedLiveDeps> = {}) {
  const timers = manualTimers();
  const pokes: number[] = [];
  const requests: string[] = [];
  let online = true;
  const handle = openFeedLive({
    url: 'http://shop.test/api/sync/feed/live?clientId=x',
    transport: async (input) => {
      requests.push(String(input));
      const next = answers.shift();
      if (!next) return new Promise<Response>(() => undefined);
      return next();
    },
    onPoke: () => pokes.push(pokes.length + 1),
    isOnline: () => online,
    setTimer: timers.setTimer,
    clearTimer: timers.clearTimer,
    pollEveryMs: 30_000,
    maxRetryMs: 30_000,
    ...overrides,
  });
  return {
    handle,
    timers,
    pokes,
    requests,
    goOffline: () => {
      online = false;
    },
  };
}

describe('the live channel', () => {
  it('reads the feed on every poke, and on nothing else', async () => {
    const stream = channel();
    const { handle, pokes } = live([() => stream.response]);
    await settle();
    stream.poke('');
    stream.comment();
    stream.poke('t12.40');
    await settle();
    expect(pokes).toHaveLength(2);
    expect(handle.state()).toBe('open');
    handle.stop();
  });

  it('leaves a server without the feed alone: no retry, no poll', async () => {
    const { handle, timers, requests, pokes } = live([() => new Response('{}', { status: 404 })]);
    await settle();
    expect(handle.state()).toBe('absent');
    await timers.advance(10 * 60_000);
    expect({ requests: requests.length, pokes: pokes.length }).toEqual({ requests: 1, pokes: 0 });
  });

  it('while down, reads the feed every 30 s and reconnects with backoff until the channel opens again', async () => {
    const stream = channel();
    const { handle, timers, requests, pokes } = live([
      () => Promise.reject(new TypeError('Failed to fetch')),
      () => new Response('busy', { status: 503 }),
      () => stream.response,
    ]);
    await settle();
    expect(handle.state()).toBe('down');
    await timers.advance(1_000);
    // The second attempt failed too: the next waits twice as long.
    expect(requests).toHaveLength(2);
    await timers.advance(1_999);
    expect(requests).toHaveLength(2);
    await timers.advance(1);
    expect(requests).toHaveLength(3);
    stream.poke('');
    await settle();
    expect(handle.state()).toBe('open');
    const afterOpen = pokes.length;
    // Open: no timer reads the feed any more; only pokes do.
    await timers.advance(120_000);
    expect(pokes.length).toBe(afterOpen);
    handle.stop();
  });

  it('reads the feed on its timer while the channel stays down', async () => {
    // Every reconnection fails; the timer reads the feed every 30 s all the same.
    const failing = Array.from({ length: 20 }, () => () => Promise.reject(new TypeError('Failed to fetch')));
    const { handle, timers, pokes } = live(failing);
    await settle();
    await timers.advance(95_000);
    expect(pokes).toHaveLength(3);
    handle.stop();
    await timers.advance(60_000);
    expect(pokes).toHaveLength(3);
  });

  it('reconnects when the channel ends, as when a server instance restarts', async () => {
    const first = channel();
    const second = channel();
    const { handle, timers, requests } = live([() => first.response, () => second.response]);
    await settle();
    first.poke('');
    await settle();
    first.end();
    await settle();
    expect(handle.state()).toBe('down');
    await timers.advance(1_000);
    expect(requests).toHaveLength(2);
    second.poke('');
    await settle();
    expect(handle.state()).toBe('open');
    handle.stop();
  });
});
