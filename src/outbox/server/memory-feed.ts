import type { Author } from '../protocol/feed';
import type { WireClientEvent, WireServerEvent } from '../protocol/messages';
import type {
  FeedChanges,
  FeedEntry,
  FeedRead,
  FeedScope,
  FeedStorage,
  HistoryRead,
  PreviousDevice,
} from './feed-storage';
import type { PullCursor } from './pull-cursor';

/**
 * The feed on the in-memory storage: its log of every stored event in the order the transactions that wrote
 * them committed (they take turns, so that is the order they wrote in), numbered from 1. The cursor is that
 * number, as SQLite's is; a commit cursor (another server's) reads from the start, which a client's apply by
 * eventId makes harmless.
 */

export type MemoryFeedItem =
  | { readonly kind: 'client'; readonly event: WireClientEvent; readonly clientId: string }
  | { readonly kind: 'server'; readonly event: WireServerEvent };

/** What the memory storage keeps that the feed reads; the storage writes it, with its undo log. */
export interface MemoryFeedState {
  /** Item i has position i + 1. */
  readonly log: readonly MemoryFeedItem[];
  /** Each stream's positions in the log, ascending. */
  readonly positions: ReadonlyMap<string, readonly number[]>;
  readonly streamOwners: ReadonlyMap<string, string>;
  readonly clientOwners: ReadonlyMap<string, string>;
  readonly clientStreams: ReadonlyMap<string, ReadonlySet<string>>;
  readonly devices: Map<string, { readonly name: string; readonly updatedAt: number }>;
}

const place = (position: number): PullCursor => ({ kind: 'seq', serverSeq: position });
/** Where a cursor of this storage stands; another storage's (a commit cursor) reads from the start. */
const positionOf = (cursor: PullCursor | null): number => (cursor?.kind === 'seq' ? cursor.serverSeq : 0);

export function createMemoryFeed(
  state: MemoryFeedState,
  inTurn: <T>(work: () => Promise<T>) => Promise<T>,
  assertOpen: () => void,
): FeedStorage {
  const visible = (scope: FeedScope, streamId: string): boolean =>
    scope.owner === undefined || state.streamOwners.get(streamId) === scope.owner;
  const entryOf = (item: MemoryFeedItem): FeedEntry => item;
  const authorsOf = (entries: readonly FeedEntry[]): Map<string, Author> => {
    const authors = new Map<string, Author>();
    for (const entry of entries) {
      if (entry.kind !== 'client' || authors.has(entry.clientId)) continue;
      authors.set(entry.clientId, {
        user: state.clientOwners.get(entry.clientId) ?? null,
        device: state.devices.get(entry.clientId)?.name ?? null,
      });
    }
    return authors;
  };
  const read = <T>(work: () => T): Promise<T> =>
    inTurn(async () => {
      assertOpen();
      return work();
    });

  return {
    readFeed: ({ since, limit, owner }) =>
      read((): FeedRead => {
        const scope = owner === undefined ? {} : { owner };
        const entries: FeedEntry[] = [];
        let last = positionOf(since);
        let hasMore = false;
        for (let index = positionOf(since); index < state.log.length; index += 1) {
          const item = state.log[index];
          if (!item || !visible(scope, item.event.streamId)) continue;
          if (entries.length === limit) {
            hasMore = true;
            break;
          }
          entries.push(entryOf(item));
          last = index + 1;
        }
        return {
          entries,
          cursor: entries.length > 0 ? place(last) : since,
          hasMore,
          authors: authorsOf(entries),
        };
      }),

    readHistory: ({ head, before, streams, maxEvents, owner }) =>
      read((): HistoryRead => {
        const scope = owner === undefined ? {} : { owner };
        const at = head === null ? state.log.length : Math.min(positionOf(head), state.log.length);
        const from = before === null ? at : Math.min(positionOf(before) - 1, at);
        const chosen: { streamId: string; createdAt: number }[] = [];
        let events = 0;
        let next: number | null = null;
        for (let position = from; position >= 1; position -= 1) {
          const item = state.log[position - 1];
          if (item?.kind !== 'client' || item.event.version !== 1) continue;
          if (!visible(scope, item.event.streamId)) continue;
          const size = (state.positions.get(item.event.streamId) ?? []).filter((p) => p <= at).length;
          if (chosen.length >= streams || (chosen.length > 0 && events + size > maxEvents)) {
            next = position + 1;
            break;
          }
          chosen.push({ streamId: item.event.streamId, createdAt: position });
          events += size;
        }
        const entries: FeedEntry[] = [];
        for (const { streamId } of chosen) {
          for (const position of state.positions.get(streamId) ?? []) {
            const item = state.log[position - 1];
            if (position <= at && item) entries.push(entryOf(item));
          }
        }
        const oldest = chosen.at(-1);
        const more = next !== null && oldest !== undefined;
        let total: number | null = null;
        if (head === null) {
          total = 0;
          for (let position = 1; position <= at; position += 1) {
            const item = state.log[position - 1];
            if (item?.kind === 'client' && item.event.version === 1 && visible(scope, item.event.streamId)) {
              total += 1;
            }
          }
        }
        return {
          head: place(at),
          entries,
          streams: chosen.length,
          before: more ? place(oldest.createdAt) : null,
          total,
          authors: authorsOf(entries),
        };
      }),

    changesSince: (since, limit) =>
      read((): FeedChanges => {
        if (since === null) return { head: place(state.log.length), owners: new Set() };
        const start = positionOf(since);
        const end = Math.min(state.log.length, start + limit);
        const owners = new Set<string | null>();
        for (let index = start; index < end; index += 1) {
          const streamId = state.log[index]?.event.streamId ?? '';
          owners.add(state.streamOwners.get(streamId) ?? null);
        }
        return { head: place(Math.max(start, end)), owners };
      }),

    registerDevice: ({ clientId, name, owner, previousClientId, now }) =>
      read((): PreviousDevice | null => {
        const known = state.devices.has(clientId);
        state.devices.set(clientId, { name, updatedAt: now });
        if (known || previousClientId === null || previousClientId === clientId) return null;
        if (!state.clientStreams.has(previousClientId)) return null;
        const user = state.clientOwners.get(previousClientId) ?? null;
        if (owner !== null && user !== owner) return null;
        return {
          clientId: previousClientId,
          device: state.devices.get(previousClientId)?.name ?? null,
          user,
        };
      }),
  };
}
