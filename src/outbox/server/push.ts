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
import {
  EMPTY_STREAM,
  type ServerStorage,
  type ServerStorageTx,
  StorageConflictError,
  type StoredStream,
} from './storage';

export interface PushDeps {
  /** The stream types this server serves: their rules check each event, their policies decide. */
  readonly streamTypes: StreamTypes<AnyServerStreamType>;
  readonly storage: ServerStorage;
  readonly clock: Clock;
  readonly ids: IdGenerator;
  /**
   * The shop shares its streams (`STREAM_SHARING=shop`): a signed-in user may add to a stream another user
   * created. Ownership is still recorded, but refuses nobody.
   */
  readonly shared?: boolean;
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
      return await deps.storage.transaction((tx) => pushOnce(tx, deps, batch, owner));
    } catch (error) {
      if (!(error instanceof StorageConflictError) || attempt >= CONFLICT_ATTEMPTS) throw error;
    }
  }
}

/** A policy decision waiting for its serverSeq: asked again, with the real number, once numbers are taken. */
interface PendingDecision {
  readonly type: AnyServerStreamType;
  readonly stateBefore: unknown;
  readonly event: ClientEventOf<DomainEvent>;
  readonly now: number;
  readonly count: number;
}

// What a policy is told while the batch is first decided. Policies are pure (they decide on their input
// alone), so this only tells how many decisions an event makes; none of them is kept.
const PROVISIONAL_SEQ = 1;

/**
 * One attempt: read everything the batch touches in bulk, decide every event in memory, take the serverSeqs
 * the decisions need, and write it all in bulk. Whatever another transaction stored meanwhile, the storage's
 * constraints refuse the write and the caller decides again.
 */
async function pushOnce(
  tx: ServerStorageTx,
  deps: PushDeps,
  batch: PushBatch,
  owner: string | null,
): Promise<PushResponse | ClientIdTaken> {
  const identities = batch.events.map(peekIdentity);
  const eventIds = unique(identities.map((identity) => identity.eventId).filter((id) => id !== ''));
  const streamIds = unique(
    identities.flatMap((identity) => (identity.streamId === null ? [] : [identity.streamId])),
  );
  const context = await tx.batchContext({ eventIds, streamIds, clientId: batch.clientId });
  if (owner !== null && context.clientOwner !== undefined && context.clientOwner !== owner) {
    return 'client_id_taken';
  }
  const { clientEvents: stored, streams } = context;

  const plan = decideBatch(deps, batch, owner, identities, stored, streams);
  const needed = plan.pending.reduce((sum, pending) => sum + pending.count, 0);
  const seqs = needed > 0 ? await tx.allocateServerSeqs(needed) : [];
  const serverEvents = numberDecisions(deps, plan.pending, seqs);

  await tx.write({
    clientId: batch.clientId,
    clientEvents: plan.accepted,
    serverEvents,
    linkedStreams: [...plan.linked],
    ...(owner === null ? {} : { claims: { owner, client: true, streams: [...plan.claimed] } }),
    duplicatesAnswered: plan.duplicates,
  });
  return { protocol: PROTOCOL_VERSION, results: plan.results, serverEvents };
}

interface BatchPlan {
  readonly results: PushResult[];
  readonly accepted: WireClientEvent[];
  readonly pending: PendingDecision[];
  readonly linked: Set<string>;
  readonly claimed: Set<string>;
  readonly duplicates: number;
}

/** Decides each event in array order against what is stored plus what this batch accepted before it. */
function decideBatch(
  deps: PushDeps,
  batch: PushBatch,
  owner: string | null,
  identities: readonly Identity[],
  stored: ReadonlyMap<string, WireClientEvent>,
  streams: ReadonlyMap<string, StoredStream>,
): BatchPlan {
  const known = new Map(stored);
  const results: PushResult[] = [];
  const accepted: WireClientEvent[] = [];
  const pending: PendingDecision[] = [];
  const linked = new Set<string>();
  const claimed = new Set<string>();
  const states = new Map<string, unknown>();
  const versions = new Map<string, number>();
  const owners = new Map<string, string | undefined>();
  const heldBack = new Set<string>();
  let duplicates = 0;

  const streamOf = (streamId: string): StoredStream => streams.get(streamId) ?? EMPTY_STREAM;
  const versionOf = (streamId: string): number =>
    versions.get(streamId) ?? streamOf(streamId).events.at(-1)?.version ?? 0;
  const ownerOf = (streamId: string): string | undefined =>
    owners.has(streamId) ? owners.get(streamId) : streamOf(streamId).owner;
  // Without an owner (no sign-in) nothing is foreign and nothing is claimed. A stream stored before users
  // existed has no owner: the first user to push to it takes it.
  const isForeign = (streamId: string): boolean => {
    if (owner === null || deps.shared === true) return false;
    const current = ownerOf(streamId);
    return current !== undefined && current !== owner;
  };
  const claim = (streamId: string): void => {
    if (owner === null || ownerOf(streamId) !== undefined) return;
    claimed.add(streamId);
    owners.set(streamId, owner);
  };
  // The rules read a stream the way its clients do: its type's own evolve over its stored client events.
  const stateOf = (type: AnyStreamType, streamId: string): unknown => {
    if (states.has(streamId)) return states.get(streamId);
    let state: unknown = type.initialState;
    for (const event of streamOf(streamId).events) state = type.evolve(state, event);
    states.set(streamId, state);
    return state;
  };

  for (const [index, raw] of batch.events.entries()) {
    const { eventId, streamId, version } = identities[index] ?? peekIdentity(raw);
    const refuse = (status: 'rejected' | 'retry', code: string, reason?: string): void => {
      results.push(reason === undefined ? { eventId, status, code } : { eventId, status, code, reason });
      if (streamId !== null) heldBack.add(streamId);
    };

    // The server never skips ahead in a stream: once a stream stalls, the rest of it waits for a resend.
    if (streamId !== null && heldBack.has(streamId)) {
      results.push({ eventId, status: 'retry', code: 'blocked' });
      continue;
    }

    if (streamId !== null && isForeign(streamId)) {
      refuse('rejected', 'forbidden', `${streamId} belongs to another user`);
      continue;
    }

    const existing = eventId === '' ? undefined : known.get(eventId);
    if (existing) {
      if (isSameEvent(deps.streamTypes, raw, existing)) {
        duplicates += 1;
        linked.add(existing.streamId);
        claim(existing.streamId);
        results.push({ eventId, status: 'duplicate' });
      } else {
        refuse('rejected', 'conflict', `Another event is already stored under ${eventId}`);
      }
      continue;
    }

    if (streamId !== null && version !== null) {
      const expected = versionOf(streamId) + 1;
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

    accepted.push(event);
    known.set(event.eventId, event);
    versions.set(event.streamId, event.version);
    linked.add(event.streamId);
    claim(event.streamId);
    states.set(event.streamId, type.evolve(state, checked));
    results.push({ eventId, status: 'accepted' });
    const now = deps.clock.now();
    const count = type.server.decide(state, checked, { now, nextServerSeq: PROVISIONAL_SEQ }).length;
    if (count > 0) pending.push({ type, stateBefore: state, event: checked, now, count });
  }

  return { results, accepted, pending, linked, claimed, duplicates };
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
 * The decisions with their serverSeqs: each policy is asked again, told the number its first decision gets
 * (an order number is derived from it); later decisions of the same event take the following numbers.
 */
function numberDecisions(
  deps: PushDeps,
  pending: readonly PendingDecision[],
  seqs: readonly number[],
): WireServerEvent[] {
  const numbered: WireServerEvent[] = [];
  for (const { type, stateBefore, event, now, count } of pending) {
    const first = seqs[numbered.length];
    if (first === undefined) throw new Error('The storage allocated fewer serverSeqs than asked');
    const decisions = type.server.decide(stateBefore, event, { now, nextServerSeq: first });
    if (decisions.length !== count) {
      throw new Error(`The ${type.name} policy decided differently on the same input: decide must be pure`);
    }
    const occurredAt = new Date(now).toISOString();
    for (const decision of decisions) {
      const serverSeq = seqs[numbered.length];
      if (serverSeq === undefined) throw new Error('The storage allocated fewer serverSeqs than asked');
      // `type`/`data` come from the stream type's own decision, checked by its schema when pulled.
      numbered.push({
        eventId: deps.ids(),
        streamId: event.streamId,
        serverSeq,
        occurredAt,
        type: decision.type,
        data: decision.data,
      });
    }
  }
  return numbered;
}

const unique = <T>(values: readonly T[]): T[] => [...new Set(values)];

/** A resend is a duplicate when it carries the same event, however its keys are ordered or padded. */
function isSameEvent(types: StreamTypes, raw: unknown, stored: WireClientEvent): boolean {
  if (sameJson(raw, stored)) return true;
  const parsed = parseClientEvent(types, raw);
  return parsed.ok && sameJson(parsed.value, stored);
}

interface Identity {
  readonly eventId: string;
  readonly streamId: string | null;
  readonly version: number | null;
}

/** The identity fields steps 1 and 2 need, read before the event is validated as a whole. */
function peekIdentity(raw: unknown): Identity {
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
