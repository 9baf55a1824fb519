import type { Clock, IdGenerator } from '../ids';
import {
  PROTOCOL_VERSION,
  type PushResponse,
  type PushResult,
  parseClientEvent,
  type WireClientEvent,
  type WireServerEvent,
} from '../protocol/messages';
import type { AnyServerStreamType, AnyStreamType, ClientEventOf, DomainEvent } from '../stream-type';
import type { StreamTypes } from '../stream-types';
import { sameJson } from './same-json';
import { type ServerStorage, type ServerStorageTx, StorageConflictError } from './storage';

export interface PushDeps {
  /** The stream types this server serves: their rules check each event, their policies decide. */
  readonly streamTypes: StreamTypes<AnyServerStreamType>;
  readonly storage: ServerStorage;
  readonly clock: Clock;
  readonly ids: IdGenerator;
}

/** A push whose envelope has been checked; its events are still unchecked wire input. */
export interface PushBatch {
  readonly clientId: string;
  readonly events: readonly unknown[];
}

// Another writer can store the same event between our check and our write (two copies of one batch racing
// on a shared database). The storage then refuses the write and the whole batch is re-decided against what
// is stored by then, where the racing events now read as duplicates.
const CONFLICT_ATTEMPTS = 3;

/** The whole push is refused: the clientId is another user's (answered 403, nothing stored). */
export type ClientIdTaken = 'client_id_taken';

/**
 * Handles a push per protocol v1: each event in array order on its own, then one storage transaction holds
 * every accepted event, the server decisions they caused and the counters, so a batch is stored whole or not
 * at all. Each event is checked by its stream type (its schemas, then its rules on the stream's state) and
 * each accepted one may make its stream type's policy decide; a stream type this server does not serve is
 * `rejected` with code `unknown_stream_type`.
 *
 * With an `owner` (a signed-in user), the same transaction also decides ownership: the clientId and every
 * stream the batch creates become theirs, a clientId another user owns refuses the batch, and an event on
 * another user's stream is rejected with code `forbidden`.
 */
export async function handlePush(
  deps: PushDeps,
  batch: PushBatch,
  owner: string | null,
): Promise<PushResponse | ClientIdTaken> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await deps.storage.transaction((tx) => decideBatch(tx, deps, batch, owner));
    } catch (error) {
      if (!(error instanceof StorageConflictError) || attempt >= CONFLICT_ATTEMPTS) throw error;
    }
  }
}

function decideBatch(
  tx: ServerStorageTx,
  deps: PushDeps,
  batch: PushBatch,
  owner: string | null,
): PushResponse | ClientIdTaken {
  if (owner !== null) {
    const clientOwner = tx.clientOwner(batch.clientId);
    if (clientOwner !== undefined && clientOwner !== owner) return 'client_id_taken';
    tx.claimClient(batch.clientId, owner);
  }
  const ownership = streamOwnership(tx, owner);
  const results: PushResult[] = [];
  const serverEvents: WireServerEvent[] = [];
  const states = new Map<string, unknown>();
  const heldBack = new Set<string>();
  let duplicates = 0;

  // The rules read a stream the way its clients do: its type's own evolve over its stored client events.
  const stateOf = (type: AnyStreamType, streamId: string): unknown => {
    if (states.has(streamId)) return states.get(streamId);
    let state: unknown = type.initialState;
    for (const event of tx.streamEvents(streamId)) state = type.evolve(state, event);
    states.set(streamId, state);
    return state;
  };

  for (const raw of batch.events) {
    const { eventId, streamId, version } = peekIdentity(raw);
    const refuse = (status: 'rejected' | 'retry', code: string, reason?: string): void => {
      results.push(reason === undefined ? { eventId, status, code } : { eventId, status, code, reason });
      if (streamId !== null) heldBack.add(streamId);
    };

    // The server never skips ahead in a stream: once a stream stalls, the rest of it waits for a resend.
    if (streamId !== null && heldBack.has(streamId)) {
      results.push({ eventId, status: 'retry', code: 'blocked' });
      continue;
    }

    if (streamId !== null && ownership.isForeign(streamId)) {
      refuse('rejected', 'forbidden', `${streamId} belongs to another user`);
      continue;
    }

    const stored = eventId === '' ? undefined : tx.findClientEvent(eventId);
    if (stored) {
      if (isSameEvent(deps.streamTypes, raw, stored)) {
        duplicates += 1;
        tx.linkClientToStream(batch.clientId, stored.streamId);
        ownership.claim(stored.streamId);
        results.push({ eventId, status: 'duplicate' });
      } else {
        refuse('rejected', 'conflict', `Another event is already stored under ${eventId}`);
      }
      continue;
    }

    if (streamId !== null && version !== null) {
      const expected = tx.streamVersion(streamId) + 1;
      if (version > expected) {
        refuse('retry', 'gap', `${streamId} expects version ${expected}, got ${version}`);
        continue;
      }
      if (version < expected) {
        refuse('rejected', 'version_conflict', `${streamId} already has version ${version}`);
        continue;
      }
    }

    const parsed = parseClientEvent(deps.streamTypes, raw);
    if (!parsed.ok) {
      refuse('rejected', parsed.error.code, parsed.error.reason);
      continue;
    }
    const event = parsed.value;
    const type = deps.streamTypes.parse(event.streamId)?.type;
    if (!type) throw new Error(`parseClientEvent let through ${event.streamId}, a type nobody serves`);
    const state = stateOf(type, event.streamId);
    const checked = asClientEvent(event);
    const breach = type.server.breach(state, checked);
    if (breach !== null) {
      refuse('rejected', 'invalid', breach);
      continue;
    }

    tx.appendClientEvent(event, batch.clientId);
    tx.linkClientToStream(batch.clientId, event.streamId);
    ownership.claim(event.streamId);
    states.set(event.streamId, type.evolve(state, checked));
    results.push({ eventId, status: 'accepted' });
    serverEvents.push(...decideOnAccepted(tx, deps, type, state, checked));
  }

  if (duplicates > 0) tx.increment('duplicatesAnswered', duplicates);
  return { protocol: PROTOCOL_VERSION, results, serverEvents };
}

/**
 * Who owns the batch's streams, read once per stream. Without an owner (no sign-in) nothing is foreign
 * and nothing is claimed. A stream stored before users existed has no owner: the first user to push to it
 * takes it.
 */
function streamOwnership(tx: ServerStorageTx, owner: string | null) {
  const known = new Map<string, string | undefined>();
  const ownerOf = (streamId: string): string | undefined => {
    if (!known.has(streamId)) known.set(streamId, tx.streamOwner(streamId));
    return known.get(streamId);
  };
  return {
    isForeign(streamId: string): boolean {
      if (owner === null) return false;
      const current = ownerOf(streamId);
      return current !== undefined && current !== owner;
    },
    claim(streamId: string): void {
      if (owner === null || ownerOf(streamId) === owner) return;
      tx.claimStream(streamId, owner);
      known.set(streamId, owner);
    },
  };
}

/** A wire event as the stream type's rules and policy see it: its envelope and its `{ type, data }`. */
const asClientEvent = (event: WireClientEvent): ClientEventOf<DomainEvent> => ({
  kind: 'client',
  eventId: event.eventId,
  streamId: event.streamId,
  version: event.version,
  occurredAt: event.metadata.occurredAt,
  type: event.type,
  data: event.data,
});

/**
 * The decisions the stream type's policy makes on an accepted event, appended in the same transaction. The
 * policy is told the serverSeq its first decision gets (an order number is derived from it), and the storage
 * must assign exactly that one, or the documented contract would break.
 */
function decideOnAccepted(
  tx: ServerStorageTx,
  deps: PushDeps,
  type: AnyServerStreamType,
  stateBefore: unknown,
  event: ClientEventOf<DomainEvent>,
): WireServerEvent[] {
  const now = deps.clock.now();
  const occurredAt = new Date(now).toISOString();
  const decisions = type.server.decide(stateBefore, event, { now, nextServerSeq: tx.lastServerSeq() + 1 });
  return decisions.map((decision: DomainEvent) => {
    const expected = tx.lastServerSeq() + 1;
    const appended = tx.appendServerEvent({
      eventId: deps.ids(),
      streamId: event.streamId,
      occurredAt,
      type: decision.type,
      data: decision.data,
    });
    if (appended.serverSeq !== expected) {
      throw new Error(`Storage assigned serverSeq ${appended.serverSeq}, expected ${expected}`);
    }
    return appended;
  });
}

/** A resend is a duplicate when it carries the same event, however its keys are ordered or padded. */
function isSameEvent(types: StreamTypes, raw: unknown, stored: WireClientEvent): boolean {
  if (sameJson(raw, stored)) return true;
  const parsed = parseClientEvent(types, raw);
  return parsed.ok && sameJson(parsed.value, stored);
}

/** The identity fields steps 1 and 2 need, read before the event is validated as a whole. */
function peekIdentity(raw: unknown): { eventId: string; streamId: string | null; version: number | null } {
  if (typeof raw !== 'object' || raw === null) return { eventId: '', streamId: null, version: null };
  const record = raw as Record<string, unknown>;
  const eventId = typeof record.eventId === 'string' ? record.eventId : '';
  const streamId = typeof record.streamId === 'string' ? record.streamId : null;
  const version =
    typeof record.version === 'number' && Number.isSafeInteger(record.version) && record.version >= 1
      ? record.version
      : null;
  return { eventId, streamId, version };
}
