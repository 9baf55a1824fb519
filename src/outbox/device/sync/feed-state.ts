import * as v from 'valibot';
import type { OutboxDatabase, OutboxRecords } from '../../storage/outbox-database';
import { AUTHORS_KEY, type Authors, readAuthors } from './feed-facts';

export {
  AUTHORS_KEY,
  type Authors,
  CATCH_UP_KEY,
  type CatchUp,
  parseCatchUp,
  readAuthors,
  UNREAD_KEY,
  unreadCountOf,
} from './feed-facts';

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

/** Who wrote with each clientId the feed named, as stored (`meta.authors`). */
export async function readAuthorsWithin(records: OutboxRecords): Promise<Authors> {
  return readAuthors(await records.meta(AUTHORS_KEY));
}
