import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import * as v from 'valibot';
import type { IdGenerator } from '../../../src/outbox/ids';
import {
  type PullResponse,
  PullResponseSchema,
  type PushResponse,
  PushResponseSchema,
  type WireClientEvent,
} from '../../../src/outbox/protocol/messages';
import { OrderStreamBuilder } from '../protocol-contract';

/** A bare-bones protocol client for load tests: no outbox, just the delivery rules of protocol v1. */

export async function push(
  baseUrl: string,
  token: string | undefined,
  clientId: string,
  events: readonly WireClientEvent[],
  batchId: string,
): Promise<PushResponse> {
  const response = await fetch(`${baseUrl}/push`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'idempotency-key': batchId,
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify({ protocol: 1, clientId, batchId, events }),
  });
  if (response.status !== 200) throw new Error(`push answered ${response.status}: ${await response.text()}`);
  return v.parse(PushResponseSchema, await response.json());
}

/** Event ids the server acknowledged as stored (accepted or duplicate). */
export function delivered(answer: PushResponse): string[] {
  return answer.results
    .filter((result) => result.status === 'accepted' || result.status === 'duplicate')
    .map((result) => result.eventId);
}

/** `orders` complete orders (created, two lines, placed) for one client: 4 events each. */
export function ordersFor(ids: IdGenerator, clientId: string, orders: number): WireClientEvent[][] {
  return Array.from({ length: orders }, (_, index) => {
    const order = new OrderStreamBuilder(ids, clientId);
    return [
      order.created(`Customer ${index}`),
      order.added('WIDGET-1', 2, 1250),
      order.added(`PART-${index}`, 1, 99),
      order.placed(2599, 2),
    ];
  });
}

export interface StoredShape {
  readonly clientEvents: number;
  readonly distinctEventIds: number;
  /** Streams whose versions are not exactly 1..n. */
  readonly streamsWithHoles: number;
  /** Streams holding more than one server decision. */
  readonly streamsDecidedTwice: number;
  readonly serverEvents: number;
  /** Streams holding client events but no owner (AUTH=users claims each in the append's transaction). */
  readonly unownedStreams: number;
  readonly storedIds: ReadonlySet<string>;
}

/** Reads a PostgreSQL database the servers share directly: the ground truth of what is stored. */
export async function readStoredPg(url: string): Promise<StoredShape & { orderNumbers: readonly string[] }> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const count = async (sql: string): Promise<number> =>
      Number((await client.query<{ n: string }>(sql)).rows[0]?.n ?? -1);
    const ids = await client.query<{ event_id: string }>('SELECT event_id FROM client_events');
    const numbers = await client.query<{ number: string }>(
      "SELECT body::json->'data'->>'orderNumber' AS number FROM server_events WHERE type = 'OrderConfirmed'",
    );
    return {
      clientEvents: await count('SELECT COUNT(*) AS n FROM client_events'),
      distinctEventIds: await count('SELECT COUNT(DISTINCT event_id) AS n FROM client_events'),
      streamsWithHoles: await count(
        `SELECT COUNT(*) AS n FROM (
           SELECT stream_id FROM client_events GROUP BY stream_id
           HAVING MIN(version) <> 1 OR MAX(version) <> COUNT(*) OR COUNT(DISTINCT version) <> COUNT(*)) h`,
      ),
      streamsDecidedTwice: await count(
        'SELECT COUNT(*) AS n FROM (SELECT stream_id FROM server_events GROUP BY stream_id HAVING COUNT(*) > 1) d',
      ),
      serverEvents: await count('SELECT COUNT(*) AS n FROM server_events'),
      unownedStreams: await count(
        `SELECT COUNT(DISTINCT stream_id) AS n FROM client_events
         WHERE stream_id NOT IN (SELECT stream_id FROM stream_owners)`,
      ),
      storedIds: new Set(ids.rows.map((row) => row.event_id)),
      orderNumbers: numbers.rows.map((row) => row.number),
    };
  } finally {
    await client.end();
  }
}

/** Every server event a client can pull, page after page from the start. */
export async function pullAll(
  baseUrl: string,
  token: string | undefined,
  clientId: string,
): Promise<PullResponse['serverEvents']> {
  const events: PullResponse['serverEvents'][number][] = [];
  let cursor = '0';
  for (let page = 0; page < 1000; page += 1) {
    const response = await fetch(`${baseUrl}/pull?clientId=${clientId}&since=${cursor}`, {
      headers: token ? { authorization: `Bearer ${token}` } : {},
    });
    if (response.status !== 200)
      throw new Error(`pull answered ${response.status}: ${await response.text()}`);
    const answer = v.parse(PullResponseSchema, await response.json());
    events.push(...answer.serverEvents);
    cursor = answer.cursor;
    if (!answer.hasMore) return events;
  }
  throw new Error('pulling never ends');
}

/** Reads the server's SQLite file directly (after the server stopped): the ground truth of what is stored. */
export function readStored(dataDir: string): StoredShape {
  const db = new Database(join(dataDir, 'outpost.sqlite'), { readonly: true });
  try {
    const count = (sql: string): number => {
      const row = db.prepare<[], { n: number }>(sql).get();
      return row?.n ?? -1;
    };
    const ids = db.prepare<[], string>('SELECT event_id FROM client_events').pluck().all();
    return {
      clientEvents: count('SELECT COUNT(*) AS n FROM client_events'),
      distinctEventIds: count('SELECT COUNT(DISTINCT event_id) AS n FROM client_events'),
      streamsWithHoles: count(
        `SELECT COUNT(*) AS n FROM (
           SELECT stream_id FROM client_events GROUP BY stream_id
           HAVING MIN(version) <> 1 OR MAX(version) <> COUNT(*) OR COUNT(DISTINCT version) <> COUNT(*))`,
      ),
      streamsDecidedTwice: count(
        'SELECT COUNT(*) AS n FROM (SELECT stream_id FROM server_events GROUP BY stream_id HAVING COUNT(*) > 1)',
      ),
      serverEvents: count('SELECT COUNT(*) AS n FROM server_events'),
      unownedStreams: count(
        `SELECT COUNT(DISTINCT stream_id) AS n FROM client_events
         WHERE stream_id NOT IN (SELECT stream_id FROM stream_owners)`,
      ),
      storedIds: new Set(ids),
    };
  } finally {
    db.close();
  }
}
