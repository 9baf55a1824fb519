import { type OutpostDb, readModelTable } from '../../outbox/page';
import type { OrderCount, OrderCountKey, OrderDay, OrderRevenue } from '../order-count-rows';
import type { OrderDecision, OrderPlacement } from '../read-models';

/**
 * What the insights screen shows, read from the order's counter rows and its latest decisions: a handful of
 * rows and at most `ACK_SAMPLES` decisions with their placings, however many orders the device holds.
 */

/** The acknowledgement time is the median of the latest this many decisions. */
export const ACK_SAMPLES = 500;

export interface OrderInsights {
  readonly confirmed: number;
  readonly rejected: number;
  /** Placed orders the server has not decided yet. */
  readonly waiting: number;
  /** Confirmed among decided; null before the first decision. */
  readonly confirmationRate: number | null;
  /** Confirmed totals per currency, in minor units, by currency code. */
  readonly revenue: readonly OrderRevenue[];
  /** The days asked for, in that order; a quiet day counts zeros. */
  readonly days: readonly OrderDay[];
}

const COUNTS: readonly OrderCountKey[] = ['decided:confirmed', 'decided:rejected', 'waiting'];

/** The insights for these UTC days (`2026-11-26`). */
export async function readOrderInsights(db: OutpostDb, days: readonly string[]): Promise<OrderInsights> {
  const [counts, dayRows, revenue] = await Promise.all([
    readModelTable<OrderCount>(db, 'orderCounts').bulkGet([...COUNTS]),
    readModelTable<OrderDay>(db, 'orderDays').bulkGet([...days]),
    // One row per currency the device ever confirmed an order in: a few.
    readModelTable<OrderRevenue>(db, 'orderRevenue').toArray(),
  ]);
  const [confirmed = 0, rejected = 0, waiting = 0] = counts.map((row) => row?.count ?? 0);
  const decided = confirmed + rejected;
  return {
    confirmed,
    rejected,
    waiting,
    confirmationRate: decided === 0 ? null : confirmed / decided,
    revenue: revenue.sort((a, b) => a.id.localeCompare(b.id)),
    days: days.map((id, index) => dayRows[index] ?? { id, placed: 0, confirmed: 0, rejected: 0 }),
  };
}

/**
 * Milliseconds from placing to the server's decision over the latest `ACK_SAMPLES` decisions (by decision
 * time), the lower middle one; null before the first. A decision that came before its placing counts 0.
 */
export async function readMedianAcknowledgementMs(db: OutpostDb): Promise<number | null> {
  const decisions = await readModelTable<OrderDecision>(db, 'orderDecisions')
    .orderBy('decidedAt')
    .reverse()
    .limit(ACK_SAMPLES)
    .toArray();
  const placements = await readModelTable<OrderPlacement>(db, 'orderPlacements').bulkGet(
    decisions.map((decision) => decision.id),
  );
  const samples: number[] = [];
  for (const [index, decision] of decisions.entries()) {
    const placedAt = placements[index]?.placedAt;
    if (placedAt === undefined) continue;
    const ms = Math.max(0, Date.parse(decision.decidedAt) - Date.parse(placedAt));
    if (Number.isFinite(ms)) samples.push(ms);
  }
  samples.sort((a, b) => a - b);
  return samples.length === 0 ? null : (samples[Math.floor((samples.length - 1) / 2)] ?? null);
}
