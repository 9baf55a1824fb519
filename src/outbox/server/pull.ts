import { MAX_PULL_EVENTS, PROTOCOL_VERSION, type PullResponse } from '../protocol/messages';
import { formatPullCursor, type PullCursor } from './pull-cursor';
import type { ServerStorage } from './storage';

/**
 * Server events of the streams this client pushed, after `since`; with an `owner`, only of the streams that
 * user owns, whichever clientId they name. The cursor is the storage's place of the last event returned
 * (`pull-cursor.ts`), so a client that stores it resumes exactly where it stopped, and never past an event
 * that had not committed yet.
 */
export async function handlePull(
  storage: ServerStorage,
  clientId: string,
  since: PullCursor,
  owner: string | null,
  limit = MAX_PULL_EVENTS,
): Promise<PullResponse> {
  const page = await storage.read((reader) =>
    reader.pull({ clientId, since, limit, ...(owner === null ? {} : { owner }) }),
  );
  return {
    protocol: PROTOCOL_VERSION,
    serverEvents: [...page.events],
    cursor: formatPullCursor(page.cursor),
    hasMore: page.hasMore,
  };
}
