import type pg from 'pg';
import type { Clock } from '../../outbox/ids';
import type {
  AnalyticsReader,
  ConsumerStore,
  ConsumerTx,
  CounterCell,
  OutgoingMail,
  OwnedIncrement,
  ParkedMessage,
} from '../../outbox/server';
import { createPgPool, type PgSettings, translatePgError } from './pg-database';

/** A counter cell of one owner ('' for none). */
export interface OwnedCell extends CounterCell {
  readonly owner: string;
}

type Query = <R extends pg.QueryResultRow>(
  text: string,
  values?: readonly unknown[],
) => Promise<pg.QueryResult<R>>;

/** Counter increments summed per cell, in key order: concurrent transactions lock cells in one order. */
export function sumIncrements(increments: readonly OwnedIncrement[]): OwnedCell[] {
  const cells = new Map<string, { owner: string; table: string; id: string; field: string; value: number }>();
  for (const { owner, increment } of increments) {
    for (const [field, value] of Object.entries(increment.add)) {
      const key = JSON.stringify([owner, increment.table, increment.id, field]);
      const cell = cells.get(key) ?? { owner, table: increment.table, id: increment.id, field, value: 0 };
      cell.value += value;
      cells.set(key, cell);
    }
  }
  return [...cells.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, cell]) => cell);
}

function txOn(query: Query, clock: Clock): ConsumerTx {
  return {
    async admit(consumer, eventIds) {
      if (eventIds.length === 0) return new Set();
      const { rows } = await query<{ event_id: string }>(
        `INSERT INTO consumer_inbox (consumer, event_id, applied_at)
         SELECT $1, e, $3 FROM unnest($2::text[]) AS e ORDER BY e
         ON CONFLICT DO NOTHING RETURNING event_id`,
        [consumer, [...new Set(eventIds)], clock.now()],
      );
      return new Set(rows.map((row) => row.event_id));
    },
    async release(consumer, eventIds) {
      if (eventIds.length === 0) return;
      await query('DELETE FROM consumer_inbox WHERE consumer = $1 AND event_id = ANY($2::text[])', [
        consumer,
        eventIds,
      ]);
    },
    async streamSeqs(consumer, streamIds) {
      if (streamIds.length === 0) return new Map();
      const { rows } = await query<{ stream_id: string; last_seq: number }>(
        `SELECT stream_id, last_seq FROM consumer_streams
         WHERE consumer = $1 AND stream_id = ANY($2::text[]) AND last_seq > 0`,
        [consumer, streamIds],
      );
      return new Map(rows.map((row) => [row.stream_id, row.last_seq]));
    },
    async saveStreamSeqs(consumer, seqs) {
      if (seqs.size === 0) return;
      await query(
        `UPDATE consumer_streams SET last_seq = u.seq
         FROM unnest($2::text[], $3::bigint[]) AS u(s, seq) WHERE consumer = $1 AND stream_id = u.s`,
        [consumer, [...seqs.keys()], [...seqs.values()]],
      );
    },
    async states(consumer, streamIds) {
      if (streamIds.length === 0) return new Map();
      const { rows } = await query<{ stream_id: string; state: string }>(
        'SELECT stream_id, state FROM consumer_streams WHERE consumer = $1 AND stream_id = ANY($2::text[])',
        [consumer, streamIds],
      );
      return new Map(rows.map((row) => [row.stream_id, JSON.parse(row.state) as unknown]));
    },
    async saveStates(consumer, states) {
      if (states.size === 0) return;
      const entries = [...states].sort(([a], [b]) => (a < b ? -1 : 1));
      await query(
        `INSERT INTO consumer_streams (consumer, stream_id, state)
         SELECT $1, s, st FROM unnest($2::text[], $3::text[]) AS u(s, st)
         ON CONFLICT (consumer, stream_id) DO UPDATE SET state = excluded.state`,
        [consumer, entries.map(([id]) => id), entries.map(([, state]) => JSON.stringify(state))],
      );
    },
    async insertMail(mail: readonly OutgoingMail[]) {
      if (mail.length === 0) return;
      await query(
        `INSERT INTO mail (event_id, stream_id, owner, recipient_role, recipient_name, subject, text, created_at)
         SELECT r."eventId", r."streamId", r.owner, r.role, r.name, r.subject, r.text, $2
         FROM json_to_recordset($1::json) AS r("eventId" text, "streamId" text, owner text, role text, name text,
                                               subject text, text text)
         ON CONFLICT DO NOTHING`,
        [
          JSON.stringify(
            mail.map((m) => ({
              eventId: m.eventId,
              streamId: m.streamId,
              owner: m.owner,
              role: m.recipient.role,
              name: m.recipient.name,
              subject: m.subject,
              text: m.text,
            })),
          ),
          clock.now(),
        ],
      );
    },
    async addCounters(increments) {
      const cells = sumIncrements(increments);
      if (cells.length === 0) return;
      await query(
        `INSERT INTO analytics_counters (owner, counter, row_id, field, value)
         SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[])
         ON CONFLICT (owner, counter, row_id, field) DO UPDATE SET value = analytics_counters.value + excluded.value`,
        [
          cells.map((c) => c.owner),
          cells.map((c) => c.table),
          cells.map((c) => c.id),
          cells.map((c) => c.field),
          cells.map((c) => c.value),
        ],
      );
    },
    async forgetFailures(consumer, sequences) {
      if (sequences.length === 0) return;
      await query('DELETE FROM consumer_attempts WHERE consumer = $1 AND sequence = ANY($2::bigint[])', [
        consumer,
        sequences,
      ]);
    },
    async unpark(consumer, sequence) {
      const { rowCount } = await query('DELETE FROM consumer_parked WHERE consumer = $1 AND sequence = $2', [
        consumer,
        sequence,
      ]);
      return (rowCount ?? 0) > 0;
    },
  };
}

interface ParkedRow {
  consumer: string;
  sequence: string;
  subject: string;
  message_id: string | null;
  owner: string | null;
  body: string;
  reason: string;
  attempts: number;
  parked_at: string;
}

const parkedMessage = (row: ParkedRow): ParkedMessage => ({
  consumer: row.consumer,
  sequence: Number(row.sequence),
  subject: row.subject,
  messageId: row.message_id,
  owner: row.owner,
  body: row.body,
  reason: row.reason,
  attempts: row.attempts,
  parkedAt: Number(row.parked_at),
});

/** A consumer service's store on PostgreSQL: its own small pool on the server's database. */
export function createPgConsumerStore(settings: PgSettings, clock: Clock): ConsumerStore {
  const pool = createPgPool(settings, () => undefined);

  async function inTransaction<T>(work: (query: Query) => Promise<T>): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await pool.connect();
    } catch (error) {
      throw translatePgError(error);
    }
    let broken: Error | undefined;
    const onLost = (error: Error) => {
      broken = error;
    };
    client.on('error', onLost);
    try {
      await client.query('BEGIN');
      const result = await work((text, values) => client.query(text, values as unknown[]));
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch((rollbackError: Error) => {
        broken = rollbackError;
      });
      throw translatePgError(error);
    } finally {
      client.off('error', onLost);
      client.release(broken);
    }
  }

  return {
    transaction: (work) => inTransaction((query) => work(txOn(query, clock))),
    recordFailure: (attempt, maxAttempts) =>
      inTransaction(async (query) => {
        // A count under the same sequence but another storedAt is an older message's (the stream was
        // created anew): it starts again at 1.
        const { rows } = await query<{ attempts: number }>(
          `INSERT INTO consumer_attempts AS a (consumer, sequence, stored_at, attempts, last_at)
           VALUES ($1, $2, $3, 1, $4)
           ON CONFLICT (consumer, sequence) DO UPDATE SET
             attempts = CASE WHEN a.stored_at = excluded.stored_at THEN a.attempts + 1 ELSE 1 END,
             stored_at = excluded.stored_at, last_at = excluded.last_at
           RETURNING attempts`,
          [attempt.consumer, attempt.sequence, attempt.storedAt, attempt.at],
        );
        const attempts = rows[0]?.attempts ?? 1;
        const parked = attempts >= maxAttempts;
        if (parked) {
          await query(
            `INSERT INTO consumer_parked
               (consumer, sequence, subject, message_id, owner, body, reason, attempts, parked_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING`,
            [
              attempt.consumer,
              attempt.sequence,
              attempt.subject,
              attempt.messageId,
              attempt.owner,
              attempt.body,
              attempt.reason,
              attempts,
              attempt.at,
            ],
          );
          await query('DELETE FROM consumer_attempts WHERE consumer = $1 AND sequence = $2', [
            attempt.consumer,
            attempt.sequence,
          ]);
        }
        return { attempts, parked };
      }),
    async parked(consumer, sequences) {
      try {
        const { rows } =
          sequences === 'all'
            ? await pool.query<ParkedRow>(
                'SELECT * FROM consumer_parked WHERE consumer = $1 ORDER BY sequence',
                [consumer],
              )
            : await pool.query<ParkedRow>(
                'SELECT * FROM consumer_parked WHERE consumer = $1 AND sequence = ANY($2::bigint[]) ORDER BY sequence',
                [consumer, sequences],
              );
        return rows.map(parkedMessage);
      } catch (error) {
        throw translatePgError(error);
      }
    },
    async replayFailed(consumer, sequence, reason) {
      try {
        await pool.query(
          'UPDATE consumer_parked SET reason = $3, attempts = attempts + 1 WHERE consumer = $1 AND sequence = $2',
          [consumer, sequence, reason],
        );
      } catch (error) {
        throw translatePgError(error);
      }
    },
    async prune(consumer, before, limit) {
      try {
        // A slice per statement, oldest first, so pruning a long backlog never holds many locks for long.
        const { rowCount } = await pool.query(
          `DELETE FROM consumer_inbox WHERE consumer = $1 AND event_id IN (
             SELECT i.event_id FROM consumer_inbox i
             WHERE i.consumer = $1 AND i.applied_at < $2
               AND NOT EXISTS (SELECT 1 FROM consumer_parked p WHERE p.consumer = $1 AND p.message_id = i.event_id)
             ORDER BY i.applied_at LIMIT $3)`,
          [consumer, before, limit],
        );
        await pool.query(
          `DELETE FROM consumer_attempts WHERE consumer = $1 AND sequence IN (
             SELECT sequence FROM consumer_attempts WHERE consumer = $1 AND last_at < $2 LIMIT $3)`,
          [consumer, before, limit],
        );
        return rowCount ?? 0;
      } catch (error) {
        throw translatePgError(error);
      }
    },
    close: () => pool.end(),
  };
}

/** What the server reads of the services' tables: analytics for the summary, parked counts for stats. */
export interface ServicesReader extends AnalyticsReader {
  parkedCounts(): Promise<Readonly<Record<string, number>>>;
  close(): Promise<void>;
}

export function createPgServicesReader(url: string): ServicesReader {
  const pool = createPgPool(
    { url, poolSize: 2, statementTimeoutMs: 5_000, transactionTimeoutMs: 5_000 },
    () => undefined,
  );
  const query: Query = async (text, values) => {
    try {
      return await pool.query(text, values as unknown[]);
    } catch (error) {
      throw translatePgError(error);
    }
  };
  return {
    async counterCells(owner) {
      const { rows } = await query<{ table: string; id: string; field: string; value: number }>(
        `SELECT counter AS "table", row_id AS id, field, sum(value)::bigint AS value FROM analytics_counters
         WHERE $1::text IS NULL OR owner = $1 GROUP BY counter, row_id, field`,
        [owner],
      );
      return rows;
    },
    async parkedCounts() {
      const { rows } = await query<{ consumer: string; count: number }>(
        'SELECT consumer, count(*) AS count FROM consumer_parked GROUP BY consumer',
      );
      return Object.fromEntries(rows.map((row) => [row.consumer, row.count]));
    },
    close: () => pool.end(),
  };
}
