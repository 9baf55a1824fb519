/**
 * The live channel's client (docs/sync.md, "Live"): one page per browser (the one holding its Web Lock)
 * listens to `GET {base}/feed/live`, Server-Sent Events read off a `fetch` rather than an `EventSource`, so
 * the answer's status is known (a server without the feed says 404, and then nothing more is tried) and the
 * page's transport and credentials are the sync engine's. A poke only says "read the feed"; the feed's cursor,
 * in the database, says from where. While the channel is down the page reads the feed every
 * `pollEveryMs` instead, and reconnects with backoff.
 */

export interface FeedLiveDeps {
  /** `{base}/feed/live?clientId=…` */
  readonly url: string;
  readonly transport: typeof fetch;
  /** Something may be new: read the feed (a flush that pulls). */
  readonly onPoke: () => void;
  readonly isOnline: () => boolean;
  readonly setTimer: (callback: () => void, delayMs: number) => unknown;
  readonly clearTimer: (handle: unknown) => void;
  /** How often to read the feed while the channel is down; default 30 s. */
  readonly pollEveryMs?: number;
  /** Longest wait before reconnecting; default 30 s. */
  readonly maxRetryMs?: number;
  readonly onError?: (error: unknown) => void;
}

export type FeedLiveState = 'connecting' | 'open' | 'down' | 'absent' | 'stopped';

export interface FeedLive {
  readonly state: () => FeedLiveState;
  /** The network came back: reconnect now rather than at the next try. */
  reconnect(): void;
  stop(): void;
}

export function openFeedLive(deps: FeedLiveDeps): FeedLive {
  const pollEveryMs = deps.pollEveryMs ?? 30_000;
  const maxRetryMs = deps.maxRetryMs ?? 30_000;
  let state: FeedLiveState = 'connecting';
  let failures = 0;
  let controller: AbortController | null = null;
  let retryTimer: unknown = null;
  let pollTimer: unknown = null;

  const clear = (handle: unknown): null => {
    if (handle !== null) deps.clearTimer(handle);
    return null;
  };

  const poll = (): void => {
    pollTimer = clear(pollTimer);
    if (state !== 'down') return;
    pollTimer = deps.setTimer(() => {
      pollTimer = null;
      if (state !== 'down') return;
      if (deps.isOnline()) deps.onPoke();
      poll();
    }, pollEveryMs);
  };

  const down = (): void => {
    if (state === 'stopped' || state === 'absent') return;
    const wasDown = state === 'down';
    state = 'down';
    if (!wasDown) poll();
    failures += 1;
    retryTimer = clear(retryTimer);
    const delay = Math.min(maxRetryMs, 1_000 * 2 ** Math.min(failures - 1, 5));
    retryTimer = deps.setTimer(() => {
      retryTimer = null;
      void connect();
    }, delay);
  };

  async function connect(): Promise<void> {
    if (state === 'stopped' || state === 'absent') return;
    if (!deps.isOnline()) {
      down();
      return;
    }
    controller?.abort();
    const current = new AbortController();
    controller = current;
    try {
      const response = await deps.transport(deps.url, {
        headers: { Accept: 'text/event-stream' },
        signal: current.signal,
        cache: 'no-store',
      });
      if (response.status === 404 || response.status === 405) {
        // A server without the feed: nothing to listen to, nothing to poll.
        state = 'absent';
        await response.body?.cancel().catch(() => undefined);
        return;
      }
      if (!response.ok || !response.body) {
        await response.body?.cancel().catch(() => undefined);
        down();
        return;
      }
      await listen(response.body, current);
    } catch (error) {
      if (current.signal.aborted) return;
      deps.onError?.(error);
    }
    if (controller === current && !current.signal.aborted) down();
  }

  async function listen(body: ReadableStream<Uint8Array>, current: AbortController): Promise<void> {
    const reader = body.getReader();
    const decoder = new TextDecoder();
    let buffered = '';
    for (;;) {
      const { done, value } = await reader.read();
      if (done || current.signal.aborted) return;
      buffered += decoder.decode(value, { stream: true }).replace(/\r\n?/g, '\n');
      let end = buffered.indexOf('\n\n');
      while (end >= 0) {
        const block = buffered.slice(0, end);
        buffered = buffered.slice(end + 2);
        if (state !== 'open') {
          state = 'open';
          failures = 0;
          pollTimer = clear(pollTimer);
          retryTimer = clear(retryTimer);
        }
        if (block.split('\n').some((line) => line === 'event: feed')) deps.onPoke();
        end = buffered.indexOf('\n\n');
      }
    }
  }

  void connect();
  return {
    state: () => state,
    reconnect() {
      if (state !== 'down') return;
      retryTimer = clear(retryTimer);
      void connect();
    },
    stop() {
      state = 'stopped';
      controller?.abort();
      retryTimer = clear(retryTimer);
      pollTimer = clear(pollTimer);
    },
  };
}
