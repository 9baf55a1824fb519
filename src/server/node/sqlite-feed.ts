import type Database from 'better-sqlite3';
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
 * The feed on SQLite (docs/protocol.md, "The feed"): the `feed` table numbers every stored event in the order
 * the one writer stored it (triggers of schema 3 keep it), so a decimal position is a cursor that never skips.
 * A commit cursor (PostgreSQL's) reads from the start, which a client's apply by eventId makes harmless.
 */

export interface SqliteFeedConnections {
  /** The write connection and its turn: device names are written there. */
  readonly db: Database.Database;
  readonly writeTurn: <T>(work: () => Promise<T>) => Promise<T>;
  /** The read connection and its turn: every read sees one snapshot. */
  readonly readDb: Database.Database;
  readonly readTurn: <T>(work: () => Promise<T>) => Promise<T>;
  readonly ensureOpen: () => void;
  /** The storage's own checks of a row on its way out (a row that breaks the protocol fails loudly). */
  readonly toClientEvent: (body: string) => WireClientEvent;
  readonly toServerEvent: (row: { server_seq: number; body: string }) => WireServerEvent;
}

interface EntryRow {
  position: number;
  stream_id: string;
  kind: 'client' | 'server';
  client_body: string | null;
  client_id: string | null;
  server_seq: number | null;
  server_body: string | null;
}

interface ScopeParams {
  owner: string | null;
}

const ENTRY_COLUMNS = `f.position, f.stream_id, f.kind, c.body AS client_body, c.client_id, s.server_seq,
  s.body AS server_body
  FROM feed f
  LEFT JOIN client_events c ON f.kind = 'client' AND c.event_id = f.event_id
  LEFT JOIN server_events s ON f.kind = 'server' AND s.event_id = f.event_id`;
const IN_SCOPE = `(@owner IS NULL OR EXISTS (
  SELECT 1 FROM stream_owners o WHERE o.stream_id = f.stream_id AND o.username = @owner))`;

function prepareReads(db: Database.Database) {
  return {
    after: db.prepare<[ScopeParams & { after: number; limit: number }], EntryRow>(
      `SELECT ${ENTRY_COLUMNS} WHERE f.position > @after AND ${IN_SCOPE} ORDER BY f.position LIMIT @limit`,
    ),
    head: db.prepare<[], number>('SELECT COALESCE(MAX(position), 0) FROM feed').pluck(),
    starts: db.prepare<
      [ScopeParams & { head: number; before: number; limit: number }],
      { stream_id: string; position: number }
    >(
      `SELECT f.stream_id, f.position FROM feed f
       WHERE f.starts = 1 AND f.position <= @head AND f.position < @before AND ${IN_SCOPE}
       ORDER BY f.position DESC LIMIT @limit`,
    ),
    sizes: db.prepare<[{ ids: string; head: number }], { stream_id: string; events: number }>(
      `SELECT stream_id, COUNT(*) AS events FROM feed
       WHERE stream_id IN (SELECT value FROM json_each(@ids)) AND position <= @head GROUP BY stream_id`,
    ),
    streamsAt: db.prepare<[{ ids: string; head: number }], EntryRow>(
      `SELECT ${ENTRY_COLUMNS}
       WHERE f.stream_id IN (SELECT value FROM json_each(@ids)) AND f.position <= @head ORDER BY f.position`,
    ),
    total: db
      .prepare<[ScopeParams & { head: number }], number>(
        `SELECT COUNT(*) FROM feed f WHERE f.starts = 1 AND f.position <= @head AND ${IN_SCOPE}`,
      )
      .pluck(),
    authors: db.prepare<[{ ids: string }], { client_id: string; user: string | null; device: string | null }>(
      `SELECT j.value AS client_id, o.username AS user, d.name AS device FROM json_each(@ids) j
       LEFT JOIN client_owners o ON o.client_id = j.value
       LEFT JOIN devices d ON d.client_id = j.value`,
    ),
    changes: db.prepare<[{ after: number; limit: number }], { position: number; owner: string | null }>(
      `SELECT f.position, o.username AS owner FROM feed f
       LEFT JOIN stream_owners o ON o.stream_id = f.stream_id
       WHERE f.position > @after ORDER BY f.position LIMIT @limit`,
    ),
  };
}

function prepareWrites(db: Database.Database) {
  return {
    device: db.prepare<[string], { name: string }>('SELECT name FROM devices WHERE client_id = ?'),
    putDevice: db.prepare<[string, string, number]>(
      `INSERT INTO devices (client_id, name, updated_at) VALUES (?, ?, ?)
       ON CONFLICT (client_id) DO UPDATE SET name = excluded.name, updated_at = excluded.updated_at`,
    ),
    delivered: db
      .prepare<[string], number>(
        'SELECT COUNT(*) FROM (SELECT 1 FROM client_streams WHERE client_id = ? LIMIT 1)',
      )
      .pluck(),
    owner: db.prepare<[string], string>('SELECT username FROM client_owners WHERE client_id = ?').pluck(),
  };
}

function entryOf(connections: SqliteFeedConnections, row: EntryRow): FeedEntry {
  const { toClientEvent, toServerEvent } = connections;
  if (row.kind === 'client' && row.client_body !== null && row.client_id !== null) {
    return { kind: 'client', event: toClientEvent(row.client_body), clientId: row.client_id };
  }
  if (row.kind === 'server' && row.server_body !== null && row.server_seq !== null) {
    return { kind: 'server', event: toServerEvent({ server_seq: row.server_seq, body: row.server_body }) };
  }
  throw new Error(`Feed position ${row.position} names an event that is not stored`);
}

const place = (position: number): PullCursor => ({ kind: 'seq', serverSeq: position });
const positionOf = (cursor: PullCursor | null): number => (cursor?.kind === 'seq' ? cursor.serverSeq : 0);

export function createSqliteFeed(connections: SqliteFeedConnections): FeedStorage {
  const reads = prepareReads(connections.readDb);
  const writes = prepareWrites(connections.db);

  const authorsOf = (entries: readonly FeedEntry[]): Map<string, Author> => {
    const clientIds = [
      ...new Set(entries.flatMap((entry) => (entry.kind === 'client' ? [entry.clientId] : []))),
    ];
    if (clientIds.length === 0) return new Map();
    return new Map(
      reads.authors
        .all({ ids: JSON.stringify(clientIds) })
        .map((row) => [row.client_id, { user: row.user, device: row.device }] as const),
    );
  };

  /** One snapshot for every statement of the work, even while pushes commit on the other connection. */
  const read = <T>(work: () => T): Promise<T> =>
    connections.readTurn(async () => {
      connections.ensureOpen();
      connections.readDb.exec('BEGIN');
      try {
        return work();
      } finally {
        if (connections.readDb.inTransaction) connections.readDb.exec('COMMIT');
      }
    });

  return {
    readFeed: ({ since, limit, owner }) =>
      read((): FeedRead => {
        const rows = reads.after.all({ after: positionOf(since), limit: limit + 1, owner: owner ?? null });
        const page = rows.slice(0, limit);
        const entries = page.map((row) => entryOf(connections, row));
        const last = page.at(-1);
        return {
          entries,
          cursor: last ? place(last.position) : since,
          hasMore: rows.length > limit,
          authors: authorsOf(entries),
        };
      }),

    readHistory: ({ head, before, streams, maxEvents, owner }) =>
      read((): HistoryRead => {
        const at = head === null ? (reads.head.get() ?? 0) : positionOf(head);
        const scope = { owner: owner ?? null };
        const below = before === null ? Number.MAX_SAFE_INTEGER : positionOf(before);
        const candidates = reads.starts.all({ ...scope, head: at, before: below, limit: streams + 1 });
        const sizes = new Map(
          reads.sizes
            .all({ ids: JSON.stringify(candidates.map((row) => row.stream_id)), head: at })
            .map((row) => [row.stream_id, row.events] as const),
        );
        const chosen: { stream_id: string; position: number }[] = [];
        let events = 0;
        let more = false;
        for (const candidate of candidates) {
          const size = sizes.get(candidate.stream_id) ?? 0;
          if (chosen.length >= streams || (chosen.length > 0 && events + size > maxEvents)) {
            more = true;
            break;
          }
          chosen.push(candidate);
          events += size;
        }
        const order = new Map(chosen.map((row, index) => [row.stream_id, index] as const));
        const rows = reads.streamsAt.all({
          ids: JSON.stringify(chosen.map((row) => row.stream_id)),
          head: at,
        });
        // Stream by stream in the chosen order, each in the order it was written.
        const entries = rows
          .map((row, index) => ({ row, index }))
          .sort(
            (a, b) =>
              (order.get(a.row.stream_id) ?? 0) - (order.get(b.row.stream_id) ?? 0) || a.index - b.index,
          )
          .map(({ row }) => entryOf(connections, row));
        const oldest = chosen.at(-1);
        return {
          head: place(at),
          entries,
          streams: chosen.length,
          before: more && oldest ? place(oldest.position) : null,
          total: head === null ? (reads.total.get({ ...scope, head: at }) ?? 0) : null,
          authors: authorsOf(entries),
        };
      }),

    changesSince: (since, limit) =>
      read((): FeedChanges => {
        if (since === null) return { head: place(reads.head.get() ?? 0), owners: new Set() };
        const rows = reads.changes.all({ after: positionOf(since), limit });
        const last = rows.at(-1);
        return {
          head: last ? place(last.position) : since,
          owners: new Set(rows.map((row) => row.owner)),
        };
      }),

    registerDevice: ({ clientId, name, owner, previousClientId, now }) =>
      connections.writeTurn(async (): Promise<PreviousDevice | null> => {
        connections.ensureOpen();
        const { db } = connections;
        db.exec('BEGIN IMMEDIATE');
        try {
          const known = writes.device.get(clientId) !== undefined;
          writes.putDevice.run(clientId, name, now);
          let previous: PreviousDevice | null = null;
          if (!known && previousClientId !== null && previousClientId !== clientId) {
            const user = writes.owner.get(previousClientId) ?? null;
            if ((writes.delivered.get(previousClientId) ?? 0) > 0 && (owner === null || user === owner)) {
              previous = {
                clientId: previousClientId,
                device: writes.device.get(previousClientId)?.name ?? null,
                user,
              };
            }
          }
          db.exec('COMMIT');
          return previous;
        } catch (error) {
          if (db.inTransaction) db.exec('ROLLBACK');
          throw error;
        }
      }),
  };
}
