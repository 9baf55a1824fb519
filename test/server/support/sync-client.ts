import { join } from 'node:path';
import Database from 'better-sqlite3';
import * as v from 'valibot';
import type { IdGenerator } from '../../../src/outbox/ids';
import {
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
