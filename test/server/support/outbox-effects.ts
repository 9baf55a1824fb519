import pg from 'pg';
import type { StoredMessage } from './outbox-processes';

/** What the database holds of the server outbox and the services' effects: the ground truth of a test. */
export interface EffectsShape {
  readonly outboxUnpublished: number;
  readonly outboxRows: number;
  /** Every stored event's id (client events and decisions). */
  readonly storedEventIds: ReadonlySet<string>;
  readonly inbox: Readonly<Record<string, number>>;
  readonly inboxDistinct: Readonly<Record<string, number>>;
  readonly mail: number;
  readonly mailDistinctEvents: number;
  readonly decisions: number;
  readonly parked: readonly { consumer: string; subject: string; reason: string }[];
}

export async function readEffectsPg(url: string): Promise<EffectsShape> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const count = async (sql: string): Promise<number> =>
      Number((await client.query<{ n: string }>(sql)).rows[0]?.n ?? -1);
    const ids = await client.query<{ event_id: string }>(
      'SELECT event_id FROM client_events UNION ALL SELECT event_id FROM server_events',
    );
    const inbox = await client.query<{ consumer: string; n: string; d: string }>(
      'SELECT consumer, COUNT(*) AS n, COUNT(DISTINCT event_id) AS d FROM consumer_inbox GROUP BY consumer',
    );
    const parked = await client.query<{ consumer: string; subject: string; reason: string }>(
      'SELECT consumer, subject, reason FROM consumer_parked ORDER BY consumer, sequence',
    );
    return {
      outboxUnpublished: await count('SELECT COUNT(*) AS n FROM server_outbox WHERE published_at IS NULL'),
      outboxRows: await count('SELECT COUNT(*) AS n FROM server_outbox'),
      storedEventIds: new Set(ids.rows.map((row) => row.event_id)),
      inbox: Object.fromEntries(inbox.rows.map((row) => [row.consumer, Number(row.n)])),
      inboxDistinct: Object.fromEntries(inbox.rows.map((row) => [row.consumer, Number(row.d)])),
      mail: await count('SELECT COUNT(*) AS n FROM mail'),
      mailDistinctEvents: await count('SELECT COUNT(DISTINCT event_id) AS n FROM mail'),
      decisions: await count('SELECT COUNT(*) AS n FROM server_events'),
      parked: parked.rows,
    };
  } finally {
    await client.end();
  }
}

/** Each stream's event types in the order they FIRST appear in the broker's stream (a later copy is a duplicate). */
export function firstSeenPerStream(messages: readonly StoredMessage[]): Map<string, string[]> {
  const seen = new Set<string>();
  const streams = new Map<string, string[]>();
  for (const { body } of messages) {
    if (seen.has(body.eventId)) continue;
    seen.add(body.eventId);
    const types = streams.get(body.streamId) ?? [];
    types.push(body.type);
    streams.set(body.streamId, types);
  }
  return streams;
}

export const WHOLE_ORDER = ['OrderCreated', 'ProductAdded', 'ProductAdded', 'OrderPlaced', 'OrderConfirmed'];

/** The analytics summary the services must show for `orders` confirmed orders of `ordersFor` (2599 minor units each). */
export const expectedOrderAnalytics = (orders: number) => ({
  order_outcomes: [{ id: 'all', placed: orders, confirmed: orders }],
  revenue_by_currency: [{ id: 'EUR', revenue: orders * 2599 }],
});

export interface AnalyticsAnswer {
  readonly tables: Record<string, { id: string; [field: string]: number | string }[]>;
  readonly figures: Record<string, number | null>;
}

export async function analyticsSummary(origin: string, token?: string): Promise<AnalyticsAnswer> {
  const response = await fetch(`${origin}/api/analytics/summary`, {
    headers: token ? { authorization: `Bearer ${token}` } : {},
  });
  if (response.status !== 200)
    throw new Error(`summary answered ${response.status}: ${await response.text()}`);
  return (await response.json()) as AnalyticsAnswer;
}
