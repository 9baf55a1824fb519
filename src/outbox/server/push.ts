import * as v from 'valibot';
import { foldOrder, initialOrderState, type OrderState } from '../../orders/domain/order';
import { decidePlacement, orderNumberFor } from '../../orders/server/placement-decision';
import { streamRuleBreach } from '../../orders/server/stream-rules';
import type { Clock, IdGenerator } from '../ids';
import {
  PROTOCOL_VERSION,
  type PushResponse,
  type PushResult,
  type WireClientEvent,
  WireClientEventSchema,
  type WireServerEvent,
} from '../protocol/messages';
import { sameJson } from './same-json';
import { type ServerStorage, type ServerStorageTx, StorageConflictError } from './storage';

export interface PushDeps {
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
 * at all.
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
  const states = new Map<string, OrderState>();
  const heldBack = new Set<string>();
  let duplicates = 0;

  const stateOf = (streamId: string): OrderState => {
    const known = states.get(streamId);
    if (known) return known;
    const folded = foldOrder(tx.streamEvents(streamId), initialOrderState);
    states.set(streamId, folded);
    return folded;
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
      if (isSameEvent(raw, stored)) {
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

    const parsed = v.safeParse(WireClientEventSchema, raw);
    if (!parsed.success) {
      refuse('rejected', 'invalid', describeIssues(parsed.issues));
      continue;
    }
    const event = parsed.output;
    const state = stateOf(event.streamId);
    const breach = streamRuleBreach(state, event);
    if (breach !== null) {
      refuse('rejected', 'invalid', breach);
      continue;
    }

    tx.appendClientEvent(event, batch.clientId);
    tx.linkClientToStream(batch.clientId, event.streamId);
    ownership.claim(event.streamId);
    states.set(event.streamId, foldOrder([event], state));
    results.push({ eventId, status: 'accepted' });
    if (event.type === 'OrderPlaced') serverEvents.push(decideOnPlacement(tx, deps, state, event));
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

function decideOnPlacement(
  tx: ServerStorageTx,
  deps: PushDeps,
  stateBefore: OrderState,
  placed: Extract<WireClientEvent, { type: 'OrderPlaced' }>,
): WireServerEvent {
  const lines = stateBefore.status === 'none' ? [] : stateBefore.lines;
  const decision = decidePlacement(lines, placed.data.total);
  const occurredAt = new Date(deps.clock.now()).toISOString();
  const base = { eventId: deps.ids(), streamId: placed.streamId, occurredAt };
  if (decision.type === 'OrderRejected') {
    return tx.appendServerEvent({
      ...base,
      type: 'OrderRejected',
      data: { code: decision.code, reason: decision.reason },
    });
  }
  const serverSeq = tx.lastServerSeq() + 1;
  const confirmed = tx.appendServerEvent({
    ...base,
    type: 'OrderConfirmed',
    data: { orderNumber: orderNumberFor(serverSeq), confirmedAt: occurredAt },
  });
  if (confirmed.serverSeq !== serverSeq) {
    // An order number that is not its confirmation's serverSeq would break the documented contract.
    throw new Error(`Storage assigned serverSeq ${confirmed.serverSeq}, expected ${serverSeq}`);
  }
  return confirmed;
}

/** A resend is a duplicate when it carries the same event, however its keys are ordered or padded. */
function isSameEvent(raw: unknown, stored: WireClientEvent): boolean {
  if (sameJson(raw, stored)) return true;
  const parsed = v.safeParse(WireClientEventSchema, raw);
  return parsed.success && sameJson(parsed.output, stored);
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

function describeIssues(issues: readonly v.BaseIssue<unknown>[]): string {
  const text = issues
    .map((issue) => {
      const path = v.getDotPath(issue);
      return path ? `${path}: ${issue.message}` : issue.message;
    })
    .join('; ');
  return text.length > 200 ? `${text.slice(0, 197)}...` : text;
}
