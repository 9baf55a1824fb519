import Dexie from 'dexie';
import type { OutboxRow, OutpostDb, StoredLocalEvent } from '../client/db';
import type { EventBus } from '../client/event-bus';
import { liveLeases, outboxEntriesView } from '../client/outbox-view';
import { projectEvents, refreshDelivery } from '../client/projections';
import { ReasonSchema } from '../fields';
import type { Clock, IdGenerator } from '../ids';
import { err, ok, type Result } from '../result';
import { splitStreamId } from '../stream-types';
import { type ValidationError, validate } from '../validation';
import { DeadLetterError } from './errors';
import { syncTables } from './outbox-store';

/**
 * Dead letters are entries the engine will never resend by itself (rejected by the server, a 400, too large,
 * or past the policy's limits). The person decides: retry (the same eventId goes again) or discard.
 */
export interface DeadLetter {
  readonly eventId: string;
  readonly streamId: string;
  /** The stream's type and aggregate id, read from the stream id. */
  readonly streamType: string;
  readonly id: string;
  readonly version: number;
  readonly type: OutboxRow['type'];
  readonly deadCode: string;
  readonly lastError: string | null;
  readonly attempts: number;
  readonly createdAt: number;
}

const deadRows = (db: OutpostDb) =>
  db.outbox.where('[status+position]').between(['dead', Dexie.minKey], ['dead', Dexie.maxKey]);

/** Every dead entry, oldest first. */
export async function listDeadLetters(db: OutpostDb): Promise<DeadLetter[]> {
  const rows = await deadRows(db).toArray();
  return rows.map((row) => ({
    eventId: row.eventId,
    streamId: row.streamId,
    streamType: splitStreamId(row.streamId)?.name ?? '',
    id: splitStreamId(row.streamId)?.id ?? '',
    version: row.version,
    type: row.type,
    deadCode: row.deadCode ?? 'unknown',
    lastError: row.lastError,
    attempts: row.attempts,
    createdAt: row.createdAt,
  }));
}

/** This entry and the later ones of its stream, ascending version: every stored row is undelivered. */
const laterUndelivered = (db: OutpostDb, row: OutboxRow) =>
  db.outbox
    .where('[streamId+version]')
    .between([row.streamId, row.version], [row.streamId, Dexie.maxKey])
    .toArray();

async function loadDead(db: OutpostDb, eventId: string): Promise<OutboxRow> {
  const row = await db.outbox.get(eventId);
  if (row?.status !== 'dead') {
    throw new DeadLetterError(
      'dead_letter_not_found',
      eventId,
      `No dead entry ${eventId}: nothing was changed`,
    );
  }
  return row;
}

/**
 * Puts a dead entry back to pending with the same eventId (the server's idempotency key), attempts reset and
 * no backoff. Dead entries after it in the same stream go back too: they were held behind it (a 400 kills a
 * whole batch), and leaving them dead would block the stream again right after this one is delivered.
 * Returns the eventIds re-queued, or a DeadLetterError (nothing changed) when the entry is not dead.
 */
export async function retryDeadLetter(
  db: OutpostDb,
  eventId: string,
): Promise<Result<string[], DeadLetterError>> {
  return asResult(() =>
    db.transaction('rw', syncTables(db.streamTypes), async () => {
      const row = await loadDead(db, eventId);
      const later = await laterUndelivered(db, row);
      const revived = later
        .filter((candidate) => candidate.status === 'dead')
        .map(
          (candidate): OutboxRow => ({
            ...candidate,
            status: 'pending',
            attempts: 0,
            nextAttemptAt: 0,
            deadCode: null,
            lastError: null,
          }),
        );
      await db.outbox.bulkPut(revived);
      await refreshDelivery(db, [row.streamId]);
      return revived.map((candidate) => candidate.eventId);
    }),
  );
}

/** Dead-letter refusals come back as values, like every other refusal a person can cause. */
async function asResult<T>(work: () => Promise<T>): Promise<Result<T, DeadLetterError>> {
  try {
    return ok(await work());
  } catch (error) {
    if (error instanceof DeadLetterError) return err(error);
    throw error;
  }
}

export interface DiscardRequest {
  readonly eventId: string;
  /** Why the person gave up on it; shown on the order's timeline. */
  readonly reason: unknown;
  readonly clock: Clock;
  readonly ids: IdGenerator;
  readonly bus?: EventBus;
}

export interface DiscardOutcome {
  readonly streamId: string;
  /** The compensating records, one per discarded event, ascending version. */
  readonly records: readonly StoredLocalEvent[];
}

/**
 * Gives up on a dead entry. The server can never accept version v+1 of a stream once v is gone, so entry v
 * and every later undelivered entry of the stream are discarded together: their outbox rows are deleted and
 * one local `DeliveryDiscarded` record per event is appended and projected in the same transaction (the
 * stream then stops taking commands and says why). The events themselves stay in the store, as history.
 *
 * Bad input (a reason that is empty or too long) is a ValidationError and nothing is written; an entry that
 * is not dead, or a later one still in flight, is a DeadLetterError; both leave everything unchanged.
 */
export async function discardDeadLetter(
  db: OutpostDb,
  request: DiscardRequest,
): Promise<Result<DiscardOutcome, ValidationError | DeadLetterError>> {
  const reason = validate(ReasonSchema, request.reason);
  if (!reason.ok) return err(reason.error);
  const outcome = await asResult(() =>
    db.transaction('rw', syncTables(db.streamTypes), async () => {
      const row = await loadDead(db, request.eventId);
      const [later, leases] = await Promise.all([laterUndelivered(db, row), db.leases.toArray()]);
      const doomed = outboxEntriesView(later, liveLeases(leases, request.clock.now()));
      const busy = doomed.find((candidate) => candidate.status === 'inflight');
      if (busy) {
        throw new DeadLetterError(
          'dead_letter_in_flight',
          request.eventId,
          `Version ${busy.version} of this stream is being sent right now; try again when it settles`,
        );
      }
      const occurredAt = new Date(request.clock.now()).toISOString();
      const records: StoredLocalEvent[] = doomed.map((candidate) => ({
        kind: 'local',
        eventId: request.ids(),
        streamId: row.streamId,
        type: 'DeliveryDiscarded',
        schemaVersion: 1,
        data: {
          eventId: candidate.eventId,
          eventType: candidate.type,
          version: candidate.version,
          reason: reason.value,
        },
        occurredAt,
      }));
      await db.outbox.bulkDelete(doomed.map((candidate) => candidate.eventId));
      const positions = await db.events.bulkAdd(records, { allKeys: true });
      const stored = records.map((record, index) => ({ ...record, position: Number(positions[index]) }));
      await projectEvents(db, db.streamTypes, stored);
      await refreshDelivery(db, [row.streamId]);
      return { streamId: row.streamId, records: stored };
    }),
  );
  if (outcome.ok) request.bus?.publish(outcome.value.records);
  return outcome;
}
