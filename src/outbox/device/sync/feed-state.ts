import * as v from 'valibot';
import { UuidSchema } from '../../fields';
import type { OutboxDatabase, OutboxRecords } from '../../storage/outbox-database';

/**
 * Where this device stands in the feed (docs/sync.md, "The feed"), kept in `meta` and moved only in the
 * transaction that stores what a page carried: the history being read (a new or wiped device reads whole
 * streams, newest first, up to a head), then the forward cursor from that head. One record per clientId the
 * device reads as (each user sees their own streams).
 */
export const FEED_STATE_KEY = 'feed';

export const FeedStateSchema = v.object({
  /** Where the feed resumes; null until the history was read to its end. */
  cursor: v.nullable(v.string()),
  /** The history being read: its head, where its next page starts (null: the first), streams so far. */
  history: v.nullable(
    v.object({
      head: v.string(),
      before: v.nullable(v.string()),
      loaded: v.pipe(v.number(), v.safeInteger(), v.minValue(0)),
      total: v.nullable(v.pipe(v.number(), v.safeInteger(), v.minValue(0))),
    }),
  ),
});
export type FeedState = v.InferOutput<typeof FeedStateSchema>;

export const initialFeedState: FeedState = { cursor: null, history: null };

/** The key of a clientId's feed record: the device's own keeps the plain key. */
export const feedStateKey = (clientId: string, deviceClientId: string): string =>
  clientId === deviceClientId ? FEED_STATE_KEY : `${FEED_STATE_KEY}:${clientId}`;

export async function readFeedStateWithin(records: OutboxRecords, key: string): Promise<FeedState> {
  const parsed = v.safeParse(FeedStateSchema, await records.meta(key));
  return parsed.success ? parsed.output : initialFeedState;
}

export function readFeedState(database: OutboxDatabase, key: string): Promise<FeedState> {
  return database.transact('r', ['meta'], (records) => readFeedStateWithin(records, key));
}

export const sameFeedState = (a: FeedState, b: FeedState): boolean => JSON.stringify(a) === JSON.stringify(b);

/**
 * Who wrote with each clientId the feed named (its user, its device's name), kept for the timeline: "added
 * on Counter tablet (alice) at 14:02". Updated with every page, so a renamed device reads as its new name.
 */
export const AUTHORS_KEY = 'authors';

export const AuthorsSchema = v.record(
  UuidSchema,
  v.object({ user: v.nullable(v.string()), device: v.nullable(v.string()) }),
);
export type Authors = v.InferOutput<typeof AuthorsSchema>;

export async function readAuthorsWithin(records: OutboxRecords): Promise<Authors> {
  const parsed = v.safeParse(AuthorsSchema, await records.meta(AUTHORS_KEY));
  return parsed.success ? parsed.output : {};
}

/**
 * How far a new device's history has come, for the status: streams read of how many. Device-wide (the
 * person signed in now is the one whose history loads), written with each history page.
 */
export const CATCH_UP_KEY = 'catchUp';

export const CatchUpSchema = v.object({
  loaded: v.pipe(v.number(), v.safeInteger(), v.minValue(0)),
  total: v.nullable(v.pipe(v.number(), v.safeInteger(), v.minValue(0))),
  done: v.boolean(),
});
export type CatchUp = v.InferOutput<typeof CatchUpSchema>;

export function parseCatchUp(value: unknown): CatchUp | null {
  const parsed = v.safeParse(CatchUpSchema, value);
  return parsed.success ? parsed.output : null;
}

/**
 * How many events this device keeps unread (a newer app wrote them: `StoredUnreadEvent`), for the status: the
 * feed adds what it stores, the rebuild after an update counts what it still cannot read.
 */
export const UNREAD_KEY = 'unreadEvents';

export const unreadCountOf = (value: unknown): number =>
  typeof value === 'number' && Number.isSafeInteger(value) && value > 0 ? value : 0;
