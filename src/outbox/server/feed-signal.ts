import type { FeedChanges, FeedStorage } from './feed-storage';
import type { PullCursor } from './pull-cursor';

/**
 * When the feed has something new, for the live channel (`GET {base}/feed/live`). One per server instance,
 * however many devices listen: while anyone listens it asks storage every `pollMs` whether the feed's head
 * moved, and at once after this instance stored a push (`nudge`). Storage is the only source of truth: a
 * poke only says "read the feed", and a device reads from its own cursor, so a poke lost, doubled or early
 * costs a read and nothing else.
 *
 * Why a poll and not PostgreSQL's LISTEN/NOTIFY: a notification fires when a transaction commits, but the feed
 * may only pass an event once every older transaction has ended (decision 11), so a poke at commit can come
 * too early, and the event then waits for the next one; a poll of the head below that horizon pokes when the
 * event is readable. A poll also needs no connection held per instance and cannot miss a notification sent
 * while its listener was reconnecting. It costs one indexed query per instance per interval while devices
 * listen, none otherwise.
 */
export interface FeedSignal {
  /** `listener` hears each change after the head it started at, until the returned function is called. */
  subscribe(listener: FeedListener): () => void;
  /** This instance stored something: look now rather than at the next poll. */
  nudge(): void;
  /** Ends every subscription (the server shuts down) and stops polling. */
  close(): void;
}

/** One live channel's ears; the signal calls both synchronously, from its poll or its `close()`. */
export interface FeedListener {
  /**
   * The head moved: `change.owners` says whose streams, so a channel pokes only a device that may see them.
   * Should not throw: a throw goes to `onError`, and every other listener still hears the change.
   */
  changed(change: FeedChanges): void;
  /** The signal closed: end the channel. */
  closed(): void;
}

/** What `createFeedSignal` polls and how often; `feed` is the storage the sync handler serves. */
export interface FeedSignalOptions {
  readonly feed: FeedStorage;
  /** How often the head is read while anyone listens; default 1 s. */
  readonly pollMs?: number;
  /** At most this many new events are looked at per poll (their owners decide who is poked). */
  readonly lookAhead?: number;
  /** A failed poll (the database out of reach): reported, and the next one tries again. */
  readonly onError?: (error: unknown) => void;
}

const samePlace = (a: PullCursor, b: PullCursor): boolean =>
  a.kind === 'seq'
    ? b.kind === 'seq' && a.serverSeq === b.serverSeq
    : b.kind === 'commit' && a.transactionId === b.transactionId && a.position === b.position;

/**
 * One signal per server instance, shared by every live channel; it reads nothing until someone subscribes
 * and never rejects (a failed poll goes to `onError`). Call `close()` at shutdown, or its timer holds on.
 */
export function createFeedSignal(options: FeedSignalOptions): FeedSignal {
  const pollMs = options.pollMs ?? 1_000;
  const lookAhead = options.lookAhead ?? 1_000;
  const listeners = new Set<FeedListener>();
  let head: PullCursor | null = null;
  let timer: ReturnType<typeof setTimeout> | null = null;
  let checking: Promise<void> | null = null;
  let again = false;
  let closed = false;

  const check = async (): Promise<void> => {
    if (listeners.size === 0) return;
    const known = head;
    const change = await options.feed.changesSince(known, lookAhead);
    // Everybody left while the poll ran: the head stays forgotten, so a later listener starts from its own.
    if (listeners.size === 0) return;
    head = change.head;
    if (known === null || samePlace(known, change.head)) return;
    for (const listener of [...listeners]) {
      // One channel's broken socket must not keep the poke from the others.
      try {
        listener.changed(change);
      } catch (error) {
        options.onError?.(error);
      }
    }
  };

  const run = (): void => {
    if (checking || closed) {
      again = true;
      return;
    }
    again = false;
    checking = check()
      .catch((error: unknown) => options.onError?.(error))
      .finally(() => {
        checking = null;
        if (again && listeners.size > 0) run();
        else schedule();
      });
  };

  const schedule = (): void => {
    if (timer !== null || closed || listeners.size === 0) return;
    timer = setTimeout(() => {
      timer = null;
      run();
    }, pollMs);
  };

  return {
    subscribe(listener) {
      if (closed) {
        listener.closed();
        return () => undefined;
      }
      listeners.add(listener);
      if (head === null) run();
      else schedule();
      return () => {
        listeners.delete(listener);
        if (listeners.size > 0) return;
        if (timer !== null) clearTimeout(timer);
        timer = null;
        // Forgotten while nobody listens: the first listener again starts from the head then.
        head = null;
      };
    },
    nudge() {
      if (listeners.size > 0) run();
    },
    close() {
      closed = true;
      if (timer !== null) clearTimeout(timer);
      timer = null;
      for (const listener of [...listeners]) listener.closed();
      listeners.clear();
    },
  };
}
