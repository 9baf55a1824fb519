import { describe, expect, it } from 'vitest';
import {
  createFeedSignal,
  type FeedChanges,
  type FeedListener,
  type FeedStorage,
} from '../../src/outbox/server';

/**
 * The live channel's signal over a feed whose head the test moves by hand; each poll waits for the test to
 * answer it, so what the signal does while a poll is in flight is under the test's control.
 */
function fakeFeed() {
  const written: Array<string | null> = [];
  const polls: Array<() => void> = [];
  const unsupported = (): Promise<never> => Promise.reject(new Error('not used by the signal'));
  const feed: FeedStorage = {
    readFeed: unsupported,
    readHistory: unsupported,
    registerDevice: unsupported,
    changesSince: (since) =>
      new Promise<FeedChanges>((resolve) => {
        polls.push(() => {
          const from = since?.kind === 'seq' ? since.serverSeq : 0;
          resolve({
            head: { kind: 'seq', serverSeq: written.length },
            owners: new Set(written.slice(from)),
          });
        });
      }),
  };
  return {
    feed,
    write(owner: string | null) {
      written.push(owner);
    },
    /** Answers every poll waiting now; resolves once their answers were handled. */
    async answer(): Promise<number> {
      const waiting = polls.splice(0);
      for (const reply of waiting) reply();
      await new Promise((resolve) => setTimeout(resolve, 0));
      return waiting.length;
    },
  };
}

const listener = (heard: FeedChanges[], throws = false): FeedListener => ({
  changed(change) {
    heard.push(change);
    if (throws) throw new Error('the socket is gone');
  },
  closed: () => undefined,
});

describe('the feed signal', () => {
  it('pokes every listener when one of them throws, and reports the throw', async () => {
    const store = fakeFeed();
    const errors: unknown[] = [];
    const signal = createFeedSignal({ feed: store.feed, pollMs: 60_000, onError: (e) => errors.push(e) });
    const first: FeedChanges[] = [];
    const second: FeedChanges[] = [];
    signal.subscribe(listener(first, true));
    signal.subscribe(listener(second));
    expect(await store.answer()).toBe(1);
    store.write('alice');
    signal.nudge();
    await store.answer();
    expect(first).toHaveLength(1);
    expect(second).toHaveLength(1);
    expect(errors).toEqual([new Error('the socket is gone')]);
    signal.close();
  });

  it('does not poke a listener about what happened before it subscribed, even when the others left mid-poll', async () => {
    const store = fakeFeed();
    const signal = createFeedSignal({ feed: store.feed, pollMs: 60_000 });
    const early: FeedChanges[] = [];
    const stop = signal.subscribe(listener(early));
    await store.answer();
    signal.nudge();
    // The only listener leaves while that poll is in flight, and the poll's answer arrives afterwards.
    stop();
    await store.answer();
    store.write('alice');

    const late: FeedChanges[] = [];
    signal.subscribe(listener(late));
    await store.answer();
    expect(late).toEqual([]);
    store.write('bob');
    signal.nudge();
    await store.answer();
    expect(late.map((change) => [...change.owners])).toEqual([['bob']]);
    expect(early).toEqual([]);
    signal.close();
  });
});
