import type { Clock, IdGenerator } from '../../ids';
import type { StoredEvent } from '../../storage/rows';
import type { Sender } from './account';
import { defaultDeviceName } from './device-record';
import type { SyncRequestError } from './errors';
import { readFeedEvent } from './feed-events';
import type { FeedState } from './feed-state';
import { feedStateKey } from './feed-state';
import type { FeedPageStored } from './feed-store';
import { getFeed, getHistory, type HttpClientDeps, postDevice } from './http-client';
import type { SyncStorage } from './sync-storage';

/**
 * The feed's side of a pull (docs/sync.md, "The feed"): this device tells the server its name (and learns
 * whether its database vanished), reads a new device's history, newest streams first, up to a head, and then
 * the feed from there, each page stored in one transaction (`feed-store.ts`). Under the flush lock, like a
 * pull: one context at a time, and a page stored twice changes nothing.
 */

/** The first history page is small, so the first screen's list fills at once; the rest come in big pages. */
export const FIRST_HISTORY_STREAMS = 25;
export const HISTORY_STREAMS = 250;
export const FEED_EVENTS = 500;

export interface CatchUpDeps {
  readonly storage: SyncStorage;
  readonly http: HttpClientDeps;
  readonly clock: Clock;
  readonly ids: IdGenerator;
  /** The device's own clientId: its feed record keeps the plain key. */
  readonly deviceClientId: string;
  /** What the browser calls this device before a person names it (`defaultDeviceName`). */
  readonly userAgent: string;
  /** Stored events, to tell the rest of the app once their transaction committed. */
  readonly publish: (events: readonly StoredEvent[]) => void;
}

export type CatchUpResult =
  /** The server has no feed: the caller pulls as protocol v1 does. */
  | { readonly kind: 'absent' }
  /** `rebased`: new outbox rows written by deciding commands again, to send. */
  | { readonly kind: 'caught-up'; readonly pulled: number; readonly rebased: number }
  /** A page waits for another flusher's lease over rows it would decide again. */
  | { readonly kind: 'held'; readonly pulled: number; readonly rebased: number; readonly until: number }
  | { readonly kind: 'failed'; readonly error: SyncRequestError };

export async function catchUp(
  deps: CatchUpDeps,
  sender: Sender,
  options: { readonly reclaimLeases: boolean },
): Promise<CatchUpResult> {
  const registered = await register(deps, sender);
  if (registered !== null) return registered;
  const key = feedStateKey(sender.clientId, deps.deviceClientId);
  let state = await deps.storage.readFeedState(key);
  let pulled = 0;
  let rebased = 0;
  const store = async (
    next: FeedState,
    page: Parameters<SyncStorage['storeFeedPage']>[0]['events'],
    rest: Pick<Parameters<SyncStorage['storeFeedPage']>[0], 'authors' | 'catchUp'>,
  ): Promise<FeedPageStored> => {
    const stored = await deps.storage.storeFeedPage({
      key,
      expected: state,
      next,
      events: page,
      ...rest,
      now: deps.clock.now(),
      ids: deps.ids,
      reclaimLeases: options.reclaimLeases,
    });
    if (stored.kind === 'applied') {
      deps.publish(stored.stored);
      pulled += stored.stored.length;
      rebased += stored.rebased;
      state = next;
    }
    return stored;
  };
  const types = deps.http.streamTypes;

  // A new (or wiped) device: whole streams, newest first, as they stood at the head the first page named.
  while (state.cursor === null) {
    const history = state.history;
    const answer = await getHistory(
      deps.http,
      sender.clientId,
      history?.head ?? null,
      history?.before ?? null,
      history === null ? FIRST_HISTORY_STREAMS : HISTORY_STREAMS,
    );
    if (!answer.ok) return { kind: 'failed', error: answer.error };
    if (answer.value === 'absent') return { kind: 'absent' };
    const page = answer.value;
    const loaded = (history?.loaded ?? 0) + page.streams;
    const total = history?.total ?? page.total;
    const done = page.before === null;
    const next: FeedState = done
      ? { cursor: page.head, history: null }
      : { cursor: null, history: { head: page.head, before: page.before, loaded, total } };
    const stored = await store(
      next,
      page.events.map((event) => readFeedEvent(types, event)),
      {
        authors: page.authors,
        catchUp: { loaded, total, done },
      },
    );
    if (stored.kind === 'held') return { kind: 'held', pulled, rebased, until: stored.until };
    // Another context is ahead: it reads on.
    if (stored.kind === 'moved') return { kind: 'caught-up', pulled, rebased };
  }

  // Then the feed from there, until it has nothing more.
  for (;;) {
    const answer = await getFeed(deps.http, sender.clientId, state.cursor, FEED_EVENTS);
    if (!answer.ok) return { kind: 'failed', error: answer.error };
    if (answer.value === 'absent') return { kind: 'absent' };
    const page = answer.value;
    if (page.events.length === 0 && page.cursor === state.cursor) break;
    const stored = await store(
      { cursor: page.cursor, history: null },
      page.events.map((event) => readFeedEvent(types, event)),
      {
        authors: page.authors,
      },
    );
    if (stored.kind === 'held') return { kind: 'held', pulled, rebased, until: stored.until };
    if (stored.kind === 'moved' || !page.hasMore) break;
  }
  return { kind: 'caught-up', pulled, rebased };
}

/**
 * Tells the server this device's name under the clientId it sends as, when either changed since it last
 * did; the answer says whether this browser had another clientId whose database vanished. Null when done.
 */
async function register(deps: CatchUpDeps, sender: Sender): Promise<CatchUpResult | null> {
  const record = await deps.storage.readDevice();
  const name = record.name ?? defaultDeviceName(deps.userAgent, deps.deviceClientId);
  if (record.registered?.clientId === sender.clientId && record.registered.name === name) return null;
  const answer = await postDevice(deps.http, { clientId: sender.clientId, name });
  if (!answer.ok) return { kind: 'failed', error: answer.error };
  if (answer.value === 'absent') return { kind: 'absent' };
  await deps.storage.recordDevice({
    clientId: sender.clientId,
    name,
    previous: answer.value.previous,
    now: deps.clock.now(),
  });
  return null;
}
