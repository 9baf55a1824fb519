import type { Clock } from '../../outbox/ids';
import {
  type ConsumerStore,
  type ConsumerTx,
  type FailureRecorded,
  type ParkedMessage,
  takingTurns,
} from '../../outbox/server';
import { type ServicesReader, sumIncrements } from './pg-consumer-store';
import { openSqliteDatabase } from './sqlite-database';

/**
 * A consumer service's store in the server's SQLite file (a connection of its own; SQLite takes the writers
 * of every process in turn). Each transaction is `BEGIN IMMEDIATE … COMMIT`, fsynced like a push.
 */
export function createSqliteConsumerStore(file: string, clock: Clock): ConsumerStore {
  const db = openSqliteDatabase(file);
  const admitOne = db.prepare<[string, string, number]>(
    'INSERT INTO consumer_inbox (consumer, event_id, applied_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING',
  );
  const releaseOne = db.prepare<[string, string]>(
    'DELETE FROM consumer_inbox WHERE consumer = ? AND event_id = ?',
  );
  const selectSeq = db
    .prepare<[string, string], number>(
      'SELECT last_seq FROM consumer_streams WHERE consumer = ? AND stream_id = ? AND last_seq > 0',
    )
    .pluck();
  const updateSeq = db.prepare<[number, string, string]>(
    'UPDATE consumer_streams SET last_seq = ? WHERE consumer = ? AND stream_id = ?',
  );
  const selectState = db
    .prepare<[string, string], string>(
      'SELECT state FROM consumer_streams WHERE consumer = ? AND stream_id = ?',
    )
    .pluck();
  const upsertState = db.prepare<[string, string, string]>(
    `INSERT INTO consumer_streams (consumer, stream_id, state) VALUES (?, ?, ?)
     ON CONFLICT (consumer, stream_id) DO UPDATE SET state = excluded.state`,
  );
  const insertMail = db.prepare<[string, string, string | null, string, string, string, string, number]>(
    `INSERT INTO mail (event_id, stream_id, owner, recipient_role, recipient_name, subject, text, created_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
  );
  const addCell = db.prepare<[string, string, string, string, number]>(
    `INSERT INTO analytics_counters (owner, counter, row_id, field, value) VALUES (?, ?, ?, ?, ?)
     ON CONFLICT (owner, counter, row_id, field) DO UPDATE SET value = value + excluded.value`,
  );
  // A count under the same sequence but another storedAt is an older message's (the stream was created
  // anew): it starts again at 1.
  const countAttempt = db
    .prepare<[string, number, number, number], number>(
      `INSERT INTO consumer_attempts AS a (consumer, sequence, stored_at, attempts, last_at) VALUES (?, ?, ?, 1, ?)
       ON CONFLICT (consumer, sequence) DO UPDATE SET
         attempts = CASE WHEN a.stored_at = excluded.stored_at THEN a.attempts + 1 ELSE 1 END,
         stored_at = excluded.stored_at, last_at = excluded.last_at
       RETURNING attempts`,
    )
    .pluck();
  const forgetAttempt = db.prepare<[string, number]>(
    'DELETE FROM consumer_attempts WHERE consumer = ? AND sequence = ?',
  );
  const park = db.prepare<
    [string, number, string, string | null, string | null, string, string, number, number]
  >(
    `INSERT INTO consumer_parked (consumer, sequence, subject, message_id, owner, body, reason, attempts, parked_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
  );
  const recordFailure = db.transaction(
    (attempt: Parameters<ConsumerStore['recordFailure']>[0], maxAttempts: number): FailureRecorded => {
      const attempts =
        countAttempt.get(attempt.consumer, attempt.sequence, attempt.storedAt, attempt.at) ?? 1;
      const parked = attempts >= maxAttempts;
      if (parked) {
        park.run(
          attempt.consumer,
          attempt.sequence,
          attempt.subject,
          attempt.messageId,
          attempt.owner,
          attempt.body,
          attempt.reason,
          attempts,
          attempt.at,
        );
        forgetAttempt.run(attempt.consumer, attempt.sequence);
      }
      return { attempts, parked };
    },
  );
  interface ParkedRow {
    consumer: string;
    sequence: number;
    subject: string;
    message_id: string | null;
    owner: string | null;
    body: string;
    reason: string;
    attempts: number;
    parked_at: number;
  }
  const allParked = db.prepare<[string], ParkedRow>(
    'SELECT * FROM consumer_parked WHERE consumer = ? ORDER BY sequence',
  );
  const oneParked = db.prepare<[string, number], ParkedRow>(
    'SELECT * FROM consumer_parked WHERE consumer = ? AND sequence = ?',
  );
  const unpark = db.prepare<[string, number]>(
    'DELETE FROM consumer_parked WHERE consumer = ? AND sequence = ?',
  );
  const replayFailed = db.prepare<[string, string, number]>(
    'UPDATE consumer_parked SET reason = ?, attempts = attempts + 1 WHERE consumer = ? AND sequence = ?',
  );
  const pruneInbox = db.prepare<[string, string, number, number]>(
    `DELETE FROM consumer_inbox WHERE consumer = ? AND event_id IN (
       SELECT i.event_id FROM consumer_inbox i
       WHERE i.consumer = ? AND i.applied_at < ?
         AND NOT EXISTS (SELECT 1 FROM consumer_parked p WHERE p.consumer = i.consumer AND p.message_id = i.event_id)
       ORDER BY i.applied_at LIMIT ?)`,
  );
  const pruneAttempts = db.prepare<[string, string, number, number]>(
    `DELETE FROM consumer_attempts WHERE consumer = ? AND sequence IN (
       SELECT sequence FROM consumer_attempts WHERE consumer = ? AND last_at < ? LIMIT ?)`,
  );
  const parkedMessage = (row: ParkedRow): ParkedMessage => ({
    consumer: row.consumer,
    sequence: row.sequence,
    subject: row.subject,
    messageId: row.message_id,
    owner: row.owner,
    body: row.body,
    reason: row.reason,
    attempts: row.attempts,
    parkedAt: row.parked_at,
  });

  const tx: ConsumerTx = {
    async admit(consumer, eventIds) {
      const now = clock.now();
      const fresh = new Set<string>();
      for (const eventId of eventIds)
        if (admitOne.run(consumer, eventId, now).changes > 0) fresh.add(eventId);
      return fresh;
    },
    async release(consumer, eventIds) {
      for (const eventId of eventIds) releaseOne.run(consumer, eventId);
    },
    async streamSeqs(consumer, streamIds) {
      const seqs = new Map<string, number>();
      for (const streamId of streamIds) {
        const seq = selectSeq.get(consumer, streamId);
        if (seq !== undefined) seqs.set(streamId, seq);
      }
      return seqs;
    },
    async saveStreamSeqs(consumer, seqs) {
      for (const [streamId, seq] of seqs) updateSeq.run(seq, consumer, streamId);
    },
    async states(consumer, streamIds) {
      const states = new Map<string, unknown>();
      for (const streamId of streamIds) {
        const state = selectState.get(consumer, streamId);
        if (state !== undefined) states.set(streamId, JSON.parse(state) as unknown);
      }
      return states;
    },
    async saveStates(consumer, states) {
      for (const [streamId, state] of states) upsertState.run(consumer, streamId, JSON.stringify(state));
    },
    async insertMail(mail) {
      const now = clock.now();
      for (const m of mail) {
        insertMail.run(
          m.eventId,
          m.streamId,
          m.owner,
          m.recipient.role,
          m.recipient.name,
          m.subject,
          m.text,
          now,
        );
      }
    },
    async addCounters(increments) {
      for (const cell of sumIncrements(increments))
        addCell.run(cell.owner, cell.table, cell.id, cell.field, cell.value);
    },
    async forgetFailures(consumer, sequences) {
      for (const sequence of sequences) forgetAttempt.run(consumer, sequence);
    },
    async unpark(consumer, sequence) {
      return unpark.run(consumer, sequence).changes > 0;
    },
  };

  const turn = takingTurns();
  return {
    transaction: (work) =>
      turn(async () => {
        db.exec('BEGIN IMMEDIATE');
        try {
          const result = await work(tx);
          db.exec('COMMIT');
          return result;
        } catch (error) {
          if (db.inTransaction) db.exec('ROLLBACK');
          throw error;
        }
      }),
    recordFailure: (attempt, maxAttempts) => turn(async () => recordFailure.immediate(attempt, maxAttempts)),
    parked: (consumer, sequences) =>
      turn(async () => {
        const rows =
          sequences === 'all'
            ? allParked.all(consumer)
            : [...new Set(sequences)]
                .sort((a, b) => a - b)
                .flatMap((sequence) => oneParked.all(consumer, sequence));
        return rows.map(parkedMessage);
      }),
    replayFailed: (consumer, sequence, reason) =>
      turn(async () => {
        replayFailed.run(reason, consumer, sequence);
      }),
    // A slice per statement, oldest first: each is a short write transaction of its own.
    prune: (consumer, before, limit) =>
      turn(async () => {
        const { changes } = pruneInbox.run(consumer, consumer, before, limit);
        pruneAttempts.run(consumer, consumer, before, limit);
        return changes;
      }),
    close: () =>
      turn(async () => {
        db.close();
      }),
  };
}

export function createSqliteServicesReader(file: string): ServicesReader {
  const db = openSqliteDatabase(file);
  const cells = db.prepare<
    [string | null, string | null],
    { table: string; id: string; field: string; value: number }
  >(
    `SELECT counter AS "table", row_id AS id, field, SUM(value) AS value FROM analytics_counters
     WHERE ? IS NULL OR owner = ? GROUP BY counter, row_id, field`,
  );
  const parked = db.prepare<[], { consumer: string; count: number }>(
    'SELECT consumer, COUNT(*) AS count FROM consumer_parked GROUP BY consumer',
  );
  return {
    counterCells: async (owner) => cells.all(owner, owner),
    parkedCounts: async () => Object.fromEntries(parked.all().map((row) => [row.consumer, row.count])),
    close: async () => {
      db.close();
    },
  };
}
