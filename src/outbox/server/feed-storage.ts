import type { Author } from '../protocol/feed';
import type { WireClientEvent, WireServerEvent } from '../protocol/messages';
import type { PullCursor } from './pull-cursor';

/**
 * What the feed extension needs from storage (docs/protocol.md, "The feed"): every stored event, client and
 * server, in one order that never lets a reader skip one (the pull cursor's design, decision 11), and the
 * devices' names. A storage that has it hands it to `createSyncHandler({ feed })`; one without it serves
 * protocol v1 alone. The feed contract (`runFeedContract`, `server/testing/`) holds memory, SQLite and
 * PostgreSQL to the same behaviour.
 */
export interface FeedStorage {
  /** The events after `since` that `owner` may see, in commit order, at most `limit`. */
  readFeed(request: FeedRequest): Promise<FeedRead>;
  /**
   * Whole streams `owner` may see as they stood at `head` (the head now when null), newest-created first,
   * starting before `before`: a new device's history, read while the feed goes on from `head`.
   */
  readHistory(request: HistoryRequest): Promise<HistoryRead>;
  /**
   * The feed's place now and the owners of the streams written after `since` (null: every stream so far);
   * the live channel's poll. At most `limit` events are looked at; `head` is then the last looked at.
   */
  changesSince(since: PullCursor | null, limit: number): Promise<FeedChanges>;
  /**
   * Records the name a clientId's device goes by, and says whether it replaces a clientId this browser
   * used before (`previousClientId`, from its cookie) whose database vanished: one that had delivered events,
   * while this clientId is new to the server. Only a previous clientId of the same owner is reported.
   */
  registerDevice(registration: DeviceRegistration): Promise<PreviousDevice | null>;
}

/** Who may see what: undefined is every stream (AUTH=none, or a shop that shares its streams). */
export interface FeedScope {
  /** Only streams this user owns. */
  readonly owner?: string;
}

/** One stored event as the feed returns it; a client event says which clientId pushed it. */
export type FeedEntry =
  | { readonly kind: 'client'; readonly event: WireClientEvent; readonly clientId: string }
  | { readonly kind: 'server'; readonly event: WireServerEvent };

export interface FeedRequest extends FeedScope {
  readonly since: PullCursor;
  readonly limit: number;
}

/** One page of the feed; a reader keeps asking from `cursor` while `hasMore`. */
export interface FeedRead {
  readonly entries: readonly FeedEntry[];
  /** After the last entry returned, or `since` itself on an empty page. */
  readonly cursor: PullCursor;
  /** True when more events the scope may see are readable after `cursor` now. */
  readonly hasMore: boolean;
  /** The author of each clientId of the page's client events. */
  readonly authors: ReadonlyMap<string, Author>;
}

export interface HistoryRequest extends FeedScope {
  /** The place the history is read at; null on the first page (the head now is used and returned). */
  readonly head: PullCursor | null;
  /** Streams created before this place; null on the first page. */
  readonly before: PullCursor | null;
  /** At most this many streams. */
  readonly streams: number;
  /** No more streams once the page holds this many events (the first stream always goes whole). */
  readonly maxEvents: number;
}

/** One page of a device's history; the feed then goes on from `head`, so nothing is read twice or missed. */
export interface HistoryRead {
  /** The place every page of this history is read at: the caller passes it back with `before`. */
  readonly head: PullCursor;
  /** Each stream's events at or before `head` in commit order, the streams newest-created first. */
  readonly entries: readonly FeedEntry[];
  readonly streams: number;
  /** Where the next page starts: the place the oldest stream of this page was created; null when done. */
  readonly before: PullCursor | null;
  /** How many streams the scope holds at `head`, counted on the first page only. */
  readonly total: number | null;
  readonly authors: ReadonlyMap<string, Author>;
}

/** What the live channel's poll learns: how far the feed reaches and whose streams moved. */
export interface FeedChanges {
  /** The place of the last event looked at (`since` when nothing is new; the start on an empty store). */
  readonly head: PullCursor;
  /** The owners of the streams written after `since` (null: a stream without an owner). */
  readonly owners: ReadonlySet<string | null>;
}

/** `POST {base}/device`: the name a clientId goes by, and the clientId this browser's cookie held before. */
export interface DeviceRegistration {
  readonly clientId: string;
  readonly name: string;
  /** Who registers it: the signed-in user (null: nobody, AUTH=none). */
  readonly owner: string | null;
  /** The clientId the browser's device cookie named, if any. */
  readonly previousClientId: string | null;
  readonly now: number;
}

/** The clientId a browser used before its database vanished, so the app can say what was lost. */
export interface PreviousDevice {
  readonly clientId: string;
  /** The name that device last registered; null if it never did. */
  readonly device: string | null;
  /** Who owned what it pushed; null under AUTH=none. */
  readonly user: string | null;
}
