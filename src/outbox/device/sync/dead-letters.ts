import { ReasonSchema } from '../../fields';
import type { Clock, IdGenerator } from '../../ids';
import { err, ok, type Result } from '../../result';
import type { OutboxDatabase, OutboxRecords } from '../../storage/outbox-database';
import type { OutboxRow, StoredDiscardRecord } from '../../storage/rows';
import { splitStreamId } from '../../stream-types';
import { type ValidationError, validate } from '../../validation';
import type { EventBus } from '../event-bus';
import { liveLeases, outboxEntriesView } from '../read-models/outbox-view';
import { projectEvents, refreshDeliveryWithin } from '../read-models/projections';
import { readAccountWithin } from './account';
import { DeadLetterError } from './errors';
import { syncTables } from './outbox-store';
import { resplitStreamWithin } from './sign-in';

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

/** Every dead entry, oldest first. */
export async function listDeadLetters(database: OutboxDatabase): Promise<DeadLetter[]> {
  const rows = await database.transact('r', ['outbox'], (records) => records.rowsWithStatus('dead'));
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
const laterUndelivered = (records: OutboxRecords, row: OutboxRow) =>
  records.streamRowsFrom(row.streamId, row.version);

async function loadDead(records: OutboxRecords, eventId: string): Promise<OutboxRow> {
  const [row] = await records.outboxRows([eventId]);
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
  database: OutboxDatabase,
  eventId: string,
): Promise<Result<string[], DeadLetterError>> {
  return asResult(() =>
    database.transact('rw', syncTables(database.streamTypes), async (records) => {
      const row = await loadDead(records, eventId);
      const later = await laterUndelivered(records, row);
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
      const [, account] = await Promise.all([records.putOutboxRows(revived), readAccountWithin(records)]);
      // Retried under whoever is signed in now: rows someone else wrote wait for them (sync/account.ts).
      if (account.user !== null) await resplitStreamWithin(records, row.streamId, account.user);
      await refreshDeliveryWithin(records, [row.streamId]);
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

/** A discard the person asked for, its reason checked: what the storage operation needs. */
export interface DiscardOrder {
  readonly eventId: string;
  readonly reason: string;
  /** When the person gave up: the records' `occurredAt`, and what tells a live lease from a passed one. */
  readonly now: number;
  /** Ids for the `DeliveryDiscarded` records. */
  readonly newId: IdGenerator;
}

export interface DiscardOutcome {
  readonly streamId: string;
  /** The compensating records, one per discarded event, ascending version. */
  readonly records: readonly StoredDiscardRecord[];
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
  database: OutboxDatabase,
  request: DiscardRequest,
): Promise<Result<DiscardOutcome, ValidationError | DeadLetterError>> {
  const order = checkDiscard(request);
  if (!order.ok) return order;
  const outcome = await discardDeadLetterEntry(database, order.value);
  if (outcome.ok) request.bus?.publish(outcome.value.records);
  return outcome;
}

/** A discard the person asked for, its reason checked: the order the storage port's `discardDeadLetter` takes. */
export function checkDiscard(request: Omit<DiscardRequest, 'bus'>): Result<DiscardOrder, ValidationError> {
  const reason = validate(ReasonSchema, request.reason);
  if (!reason.ok) return err(reason.error);
  return ok({ eventId: request.eventId, reason: reason.value, now: request.clock.now(), newId: request.ids });
}

/** `discardDeadLetter` once the reason passed its check: the one transaction, nothing published. */
export function discardDeadLetterEntry(
  database: OutboxDatabase,
  order: DiscardOrder,
): Promise<Result<DiscardOutcome, DeadLetterError>> {
  const types = database.streamTypes;
  return asResult(() =>
    database.transact('rw', syncTables(types), async (records) => {
      const row = await loadDead(records, order.eventId);
      const [later, leases] = await Promise.all([laterUndelivered(records, row), records.leases()]);
      const doomed = outboxEntriesView(later, liveLeases(leases, order.now));
      const busy = doomed.find((candidate) => candidate.status === 'inflight');
      if (busy) {
        throw new DeadLetterError(
          'dead_letter_in_flight',
          order.eventId,
          `Version ${busy.version} of this stream is being sent right now; try again when it settles`,
        );
      }
      const occurredAt = new Date(order.now).toISOString();
      const discards: StoredDiscardRecord[] = doomed.map((candidate) => ({
        kind: 'local',
        eventId: order.newId(),
        streamId: row.streamId,
        type: 'DeliveryDiscarded',
        schemaVersion: 1,
        data: {
          eventId: candidate.eventId,
          eventType: candidate.type,
          version: candidate.version,
          reason: order.reason,
        },
        occurredAt,
      }));
      await records.deleteOutboxRows(doomed.map((candidate) => candidate.eventId));
      const positions = await records.appendEvents(discards);
      const stored = discards.map((record, index) => ({ ...record, position: positions[index] }));
      await projectEvents(records, types, stored);
      await refreshDeliveryWithin(records, [row.streamId]);
      return { streamId: row.streamId, records: stored };
    }),
  );
}

/** What the person's actions on dead entries do. */
export interface DeadLetterStorage {
  /** Every dead entry, oldest first. */
  listDeadLetters(): Promise<DeadLetter[]>;
  /** A dead entry and the dead ones after it in its stream back to pending; resolves their eventIds. */
  retryDeadLetter(eventId: string): Promise<Result<string[], DeadLetterError>>;
  /** A dead entry and every later undelivered one of its stream discarded, with one record each. */
  discardDeadLetter(order: DiscardOrder): Promise<Result<DiscardOutcome, DeadLetterError>>;
}

/** The dead-letter part of the storage port over a database (`outbox-storage.ts`). */
export function deadLetterStorage(database: OutboxDatabase): DeadLetterStorage {
  return {
    listDeadLetters: () => listDeadLetters(database),
    retryDeadLetter: (eventId) => retryDeadLetter(database, eventId),
    discardDeadLetter: (order) => discardDeadLetterEntry(database, order),
  };
}
