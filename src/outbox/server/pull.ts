import { MAX_PULL_EVENTS, PROTOCOL_VERSION, type PullResponse } from '../protocol/messages';
import type { ServerStorage } from './storage';

/**
 * Server events of the streams this client pushed, after `afterSeq`; with an `owner`, only of the streams
 * that user owns, whichever clientId they name. The cursor is the decimal serverSeq of the last event
 * returned, so a client that stores it resumes exactly where it stopped.
 */
export async function handlePull(
  storage: ServerStorage,
  clientId: string,
  afterSeq: number,
  owner: string | null,
  limit = MAX_PULL_EVENTS,
): Promise<PullResponse> {
  // One extra row answers `hasMore` without a second query.
  const found = await storage.read((reader) =>
    reader.serverEventsForClient(clientId, afterSeq, limit + 1, owner ?? undefined),
  );
  const serverEvents = found.slice(0, limit);
  const last = serverEvents.at(-1);
  return {
    protocol: PROTOCOL_VERSION,
    serverEvents,
    cursor: String(last ? last.serverSeq : afterSeq),
    hasMore: found.length > limit,
  };
}
