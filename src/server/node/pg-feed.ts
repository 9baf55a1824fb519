import type pg from 'pg';
import type { Author } from '../../outbox/protocol/feed';
import type { WireClientEvent, WireServerEvent } from '../../outbox/protocol/messages';
import type {
  FeedChanges,
  FeedEntry,
  FeedRead,
  FeedStorage,
  HistoryRead,
  PreviousDevice,
  PullCursor,
} from '../../outbox/server';

/**
 * The feed on PostgreSQL (docs/protocol.md, "The feed"), read in the pull's commit-safe order (decision 11):
 * client and server events share one position sequence and each row carries the id of the transaction that
 * wrote it, so one `(transaction id, position)` order covers both tables, and a reader passes only rows of
 * transactions older than every transaction still open. A cursor never moves past a row that may still
 * commit, whichever instance wrote it. A decimal cursor (another server's) reads from the start.
 */

type Query = <R extends pg.QueryResultRow>(
  text: string,
  values?: readonly unknown[],
) => Promise<pg.QueryResult<R>>;

export interface PgFeedConnections {
  /** Runs `work` in one read-only snapshot. */
  readonly read: <T>(work: (query: Query) => Promise<T>) => Promise<T>;
  /** Runs `work` in one read-write transaction. */
  readonly write: <T>(work: (query: Query) => Promise<T>) => Promise<T>;
  readonly toClientEvent: (body: string) => WireClientEvent;
  readonly toServerEvent: (row: { server_seq: number; body: string }) => WireServerEvent;
}

interface EntryRow {
  kind: 'client' | 'server';
  transaction_id: string;
  position: number;
  stream_id: string;
  body: string;
  client_id: string | null;
  server_seq: number | null;
}

const HORIZON = 'pg_snapshot_xmin(pg_current_snapshot())';
const START: [string, number] = ['0', 0];
// Past every real place: xid8 is unsigned 64-bit, positions are bigint.
const END: [string, string] = ['18446744073709551615', '9223372036854775807'];

const scoped = (alias: string, param: string) =>
  `(${param}::text IS NULL OR EXISTS (
     SELECT 1 FROM stream_owners o WHERE o.stream_id = ${alias}.stream_id AND o.username = ${param}))`;

// Each table read in commit order up to the limit on its own index, then merged: both are ordered by the same
// (transaction id, position), so the first `limit` of the merge are the first `limit` overall.
const AFTER = `SELECT * FROM (
  (SELECT 'client' AS kind, c.transaction_id::text AS transaction_id, c.transaction_id AS tx, c.position,
          c.stream_id, c.body, c.client_id, NULL::bigint AS server_seq
   FROM client_events c
   WHERE (c.transaction_id, c.position) > ($1::xid8, $2::bigint) AND c.transaction_id < ${HORIZON}
     AND ${scoped('c', '$3')}
   ORDER BY c.transaction_id, c.position LIMIT $4)
  UNION ALL
  (SELECT 'server', s.transaction_id::text, s.transaction_id, s.position, s.stream_id, s.body, NULL,
          s.server_seq
   FROM server_events s
   WHERE (s.transaction_id, s.position) > ($1::xid8, $2::bigint) AND s.transaction_id < ${HORIZON}
     AND ${scoped('s', '$3')}
   ORDER BY s.transaction_id, s.position LIMIT $4)
) f ORDER BY f.tx, f.position LIMIT $4`;

const HEAD = `SELECT h.tx::text AS transaction_id, h.position FROM (
  (SELECT transaction_id AS tx, position FROM client_events WHERE transaction_id < ${HORIZON}
   ORDER BY transaction_id DESC, position DESC LIMIT 1)
  UNION ALL
  (SELECT transaction_id, position FROM server_events WHERE transaction_id < ${HORIZON}
   ORDER BY transaction_id DESC, position DESC LIMIT 1)
) h ORDER BY h.tx DESC, h.position DESC LIMIT 1`;

// A stream begins with its version 1: streams are listed by where they began, newest first (a partial index).
const STARTS = `SELECT c.stream_id, c.transaction_id::text AS transaction_id, c.position FROM client_events c
  WHERE c.version = 1
    AND (c.transaction_id, c.position) <= ($1::xid8, $2::bigint)
    AND (c.transaction_id, c.position) < ($3::xid8, $4::bigint)
    AND ${scoped('c', '$5')}
  ORDER BY c.transaction_id DESC, c.position DESC LIMIT $6`;

const TOTAL = `SELECT count(*) AS total FROM client_events c
  WHERE c.version = 1 AND (c.transaction_id, c.position) <= ($1::xid8, $2::bigint) AND ${scoped('c', '$3')}`;

const STREAMS_AT = `SELECT * FROM (
  SELECT 'client' AS kind, c.transaction_id::text AS transaction_id, c.transaction_id AS tx, c.position,
         c.stream_id, c.body, c.client_id, NULL::bigint AS server_seq
  FROM client_events c
  WHERE c.stream_id = ANY($1::text[]) AND (c.transaction_id, c.position) <= ($2::xid8, $3::bigint)
  UNION ALL
  SELECT 'server', s.transaction_id::text, s.transaction_id, s.position, s.stream_id, s.body, NULL, s.server_seq
  FROM server_events s
  WHERE s.stream_id = ANY($1::text[]) AND (s.transaction_id, s.position) <= ($2::xid8, $3::bigint)
) f ORDER BY f.tx, f.position`;

const AUTHORS = `SELECT ids.id AS client_id, o.username AS user, d.name AS device
  FROM unnest($1::text[]) AS ids(id)
  LEFT JOIN client_owners o ON o.client_id = ids.id
  LEFT JOIN devices d ON d.client_id = ids.id`;

const CHANGES = `SELECT f.tx::text AS transaction_id, f.position, o.username AS owner FROM (
  (SELECT transaction_id AS tx, position, stream_id FROM client_events
   WHERE (transaction_id, position) > ($1::xid8, $2::bigint) AND transaction_id < ${HORIZON}
   ORDER BY transaction_id, position LIMIT $3)
  UNION ALL
  (SELECT transaction_id, position, stream_id FROM server_events
   WHERE (transaction_id, position) > ($1::xid8, $2::bigint) AND transaction_id < ${HORIZON}
   ORDER BY transaction_id, position LIMIT $3)
) f LEFT JOIN stream_owners o ON o.stream_id = f.stream_id
ORDER BY f.tx, f.position LIMIT $3`;

const placeOf = (cursor: PullCursor | null): [string, number] =>
  cursor?.kind === 'commit' ? [cursor.transactionId, cursor.position] : START;
const commit = (row: { transaction_id: string; position: number }): PullCursor => ({
  kind: 'commit',
  transactionId: row.transaction_id,
  position: row.position,
});

export function createPgFeed(connections: PgFeedConnections): FeedStorage {
  const entryOf = (row: EntryRow): FeedEntry => {
    if (row.kind === 'client' && row.client_id !== null) {
      return { kind: 'client', event: connections.toClientEvent(row.body), clientId: row.client_id };
    }
    if (row.kind === 'server' && row.server_seq !== null) {
      return {
        kind: 'server',
        event: connections.toServerEvent({ server_seq: row.server_seq, body: row.body }),
      };
    }
    throw new Error(`A feed row of kind ${row.kind} at ${row.transaction_id}.${row.position} is incomplete`);
  };

  const authorsOf = async (query: Query, entries: readonly FeedEntry[]): Promise<Map<string, Author>> => {
    const clientIds = [
      ...new Set(entries.flatMap((entry) => (entry.kind === 'client' ? [entry.clientId] : []))),
    ];
    if (clientIds.length === 0) return new Map();
    const { rows } = await query<{ client_id: string; user: string | null; device: string | null }>(AUTHORS, [
      clientIds,
    ]);
    return new Map(rows.map((row) => [row.client_id, { user: row.user, device: row.device }] as const));
  };

  const headOf = async (query: Query): Promise<PullCursor> => {
    const { rows } = await query<{ transaction_id: string; position: number }>(HEAD);
    const row = rows[0];
    return row ? commit(row) : { kind: 'seq', serverSeq: 0 };
  };

  return {
    readFeed: ({ since, limit, owner }) =>
      connections.read(async (query): Promise<FeedRead> => {
        const { rows } = await query<EntryRow>(AFTER, [...placeOf(since), owner ?? null, limit + 1]);
        const page = rows.slice(0, limit);
        const entries = page.map(entryOf);
        const last = page.at(-1);
        return {
          entries,
          cursor: last ? commit(last) : since,
          hasMore: rows.length > limit,
          authors: await authorsOf(query, entries),
        };
      }),

    readHistory: ({ head, before, streams, maxEvents, owner }) =>
      connections.read(async (query): Promise<HistoryRead> => {
        const at = head ?? (await headOf(query));
        const atPlace = placeOf(at);
        const below = before === null ? END : placeOf(before);
        const { rows: candidates } = await query<{
          stream_id: string;
          transaction_id: string;
          position: number;
        }>(STARTS, [...atPlace, ...below, owner ?? null, streams + 1]);
        const { rows } = await query<EntryRow>(STREAMS_AT, [
          candidates.map((row) => row.stream_id),
          ...atPlace,
        ]);
        const byStream = new Map<string, EntryRow[]>();
        for (const row of rows) byStream.set(row.stream_id, [...(byStream.get(row.stream_id) ?? []), row]);
        const chosen: typeof candidates = [];
        let events = 0;
        let more = false;
        for (const candidate of candidates) {
          const size = byStream.get(candidate.stream_id)?.length ?? 0;
          if (chosen.length >= streams || (chosen.length > 0 && events + size > maxEvents)) {
            more = true;
            break;
          }
          chosen.push(candidate);
          events += size;
        }
        const entries = chosen.flatMap((row) => (byStream.get(row.stream_id) ?? []).map(entryOf));
        let total: number | null = null;
        if (head === null) {
          const counted = await query<{ total: number }>(TOTAL, [...atPlace, owner ?? null]);
          total = counted.rows[0]?.total ?? 0;
        }
        const oldest = chosen.at(-1);
        return {
          head: at,
          entries,
          streams: chosen.length,
          before: more && oldest ? commit(oldest) : null,
          total,
          authors: await authorsOf(query, entries),
        };
      }),

    changesSince: (since, limit) =>
      connections.read(async (query): Promise<FeedChanges> => {
        if (since === null) return { head: await headOf(query), owners: new Set() };
        const { rows } = await query<{ transaction_id: string; position: number; owner: string | null }>(
          CHANGES,
          [...placeOf(since), limit],
        );
        const last = rows.at(-1);
        return { head: last ? commit(last) : since, owners: new Set(rows.map((row) => row.owner)) };
      }),

    registerDevice: ({ clientId, name, owner, previousClientId, now }) =>
      connections.write(async (query): Promise<PreviousDevice | null> => {
        const known = await query('SELECT 1 FROM devices WHERE client_id = $1', [clientId]);
        await query(
          `INSERT INTO devices (client_id, name, updated_at) VALUES ($1, $2, $3)
           ON CONFLICT (client_id) DO UPDATE SET name = excluded.name, updated_at = excluded.updated_at`,
          [clientId, name, now],
        );
        if (known.rows.length > 0 || previousClientId === null || previousClientId === clientId) return null;
        const { rows } = await query<{ delivered: boolean; user: string | null; device: string | null }>(
          `SELECT EXISTS (SELECT 1 FROM client_streams WHERE client_id = $1) AS delivered,
                  (SELECT username FROM client_owners WHERE client_id = $1) AS user,
                  (SELECT name FROM devices WHERE client_id = $1) AS device`,
          [previousClientId],
        );
        const found = rows[0];
        if (!found?.delivered || (owner !== null && found.user !== owner)) return null;
        return { clientId: previousClientId, device: found.device, user: found.user };
      }),
  };
}
