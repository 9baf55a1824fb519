import { debounceTime, type Observable, Subject, startWith } from 'rxjs';
import * as v from 'valibot';
import { orderEventOf } from '../orders/stored-events';
import type { OutpostDb, StoredEvent } from '../outbox/views';

/**
 * Order analytics as its own read model: one `meta` row (`analytics`), folded from the event store and
 * kept up to date from the event bus. The bus only says "something was committed"; the fold then reads
 * every event after its cursor, so events written while the page was closed (a service-worker sync) are
 * counted too, and the fold can always be rebuilt from the event store by deleting the row.
 */

export const ANALYTICS_KEY = 'analytics';
const MAX_SAMPLES = 500;
const BATCH = 1000;

const DaySchema = v.object({
  placed: v.number(),
  confirmed: v.number(),
  rejected: v.number(),
});

const CountsSchema = v.record(v.string(), v.number());

export const AnalyticsModelSchema = v.object({
  /** Position of the last event folded in. */
  cursor: v.number(),
  /** Keyed by UTC day, `2026-11-26`. Orders placed that day, and decisions the server made that day. */
  days: v.record(v.string(), DaySchema),
  /** Confirmed order totals per currency, in minor units. */
  revenue: CountsSchema,
  confirmed: v.number(),
  rejected: v.number(),
  /** Placed orders waiting for a decision: when they were placed, for the acknowledgement time. */
  open: v.record(v.string(), v.object({ placedAt: v.string(), total: v.number(), currency: v.string() })),
  /** Currency per stream, learned from OrderCreated. */
  currencies: v.record(v.string(), v.string()),
  /** Most recent acknowledgement times in ms (OrderPlaced occurredAt to the decision's occurredAt). */
  ackSamples: v.array(v.number()),
  ackCount: v.number(),
  ackTotalMs: v.number(),
});
export type AnalyticsModel = v.InferOutput<typeof AnalyticsModelSchema>;
export type DayStats = v.InferOutput<typeof DaySchema>;

export const emptyAnalytics = (): AnalyticsModel => ({
  cursor: 0,
  days: {},
  revenue: {},
  confirmed: 0,
  rejected: 0,
  open: {},
  currencies: {},
  ackSamples: [],
  ackCount: 0,
  ackTotalMs: 0,
});

const dayOf = (iso: string): string => iso.slice(0, 10);

function bumpDay(model: AnalyticsModel, iso: string, field: keyof DayStats): void {
  const key = dayOf(iso);
  const day = model.days[key] ?? { placed: 0, confirmed: 0, rejected: 0 };
  model.days[key] = { ...day, [field]: day[field] + 1 };
}

/** Pure fold: the model after these events (in position order). Mutates a copy, returns it. */
export function foldAnalytics(previous: AnalyticsModel, events: readonly StoredEvent[]): AnalyticsModel {
  const model: AnalyticsModel = structuredClone(previous);
  for (const stored of events) {
    if (stored.position !== undefined) model.cursor = Math.max(model.cursor, stored.position);
    const event = orderEventOf(stored);
    if (!event) continue;
    if (event.kind === 'client') {
      if (event.type === 'OrderCreated') model.currencies[event.streamId] = event.data.currency;
      if (event.type === 'OrderPlaced') {
        bumpDay(model, event.occurredAt, 'placed');
        model.open[event.streamId] = {
          placedAt: event.occurredAt,
          total: event.data.total,
          currency: model.currencies[event.streamId] ?? '',
        };
      }
      continue;
    }
    if (event.kind !== 'server') continue;
    const open = model.open[event.streamId];
    if (event.type === 'OrderConfirmed') {
      model.confirmed += 1;
      bumpDay(model, event.occurredAt, 'confirmed');
      if (open?.currency) model.revenue[open.currency] = (model.revenue[open.currency] ?? 0) + open.total;
    } else {
      model.rejected += 1;
      bumpDay(model, event.occurredAt, 'rejected');
    }
    if (open) {
      const ms = Math.max(0, Date.parse(event.occurredAt) - Date.parse(open.placedAt));
      if (Number.isFinite(ms)) {
        model.ackSamples = [...model.ackSamples, ms].slice(-MAX_SAMPLES);
        model.ackCount += 1;
        model.ackTotalMs += ms;
      }
      delete model.open[event.streamId];
    }
  }
  return model;
}

export function readAnalytics(value: unknown): AnalyticsModel {
  const parsed = v.safeParse(AnalyticsModelSchema, value);
  return parsed.success ? parsed.output : emptyAnalytics();
}

/**
 * Folds every event after the stored cursor, a batch per transaction. Reading the row and writing it in
 * the same transaction keeps two tabs from counting the same event twice.
 */
export async function catchUpAnalytics(db: OutpostDb): Promise<AnalyticsModel> {
  for (;;) {
    const { model, more } = await db.transaction('rw', db.events, db.meta, async () => {
      const row = await db.meta.get(ANALYTICS_KEY);
      const current = readAnalytics(row?.value);
      const events = await db.events.where('position').above(current.cursor).limit(BATCH).toArray();
      if (events.length === 0) return { model: current, more: false };
      const next = foldAnalytics(current, events);
      await db.meta.put({ key: ANALYTICS_KEY, value: next });
      return { model: next, more: events.length === BATCH };
    });
    if (!more) return model;
  }
}

export interface AnalyticsService {
  stop(): void;
  /** Resolves once every event committed so far is folded in. */
  settled(): Promise<AnalyticsModel>;
}

export function startAnalyticsService(deps: {
  readonly bus: { readonly events$: Observable<StoredEvent> };
  readonly db: OutpostDb;
}): AnalyticsService {
  let running: Promise<AnalyticsModel> = Promise.resolve(emptyAnalytics());
  const run = (): Promise<AnalyticsModel> => {
    running = running.catch(() => emptyAnalytics()).then(() => catchUpAnalytics(deps.db));
    return running;
  };
  const kick = new Subject<void>();
  const busSubscription = deps.bus.events$.subscribe(() => kick.next());
  // Commands publish several events at once; one fold per burst is enough.
  const kickSubscription = kick.pipe(startWith(undefined), debounceTime(50)).subscribe(() => {
    run().catch(() => {
      // A failed fold leaves the cursor where it was: the next event retries it.
    });
  });
  return {
    stop: () => {
      busSubscription.unsubscribe();
      kickSubscription.unsubscribe();
    },
    settled: () => run(),
  };
}

export interface AnalyticsSummary {
  readonly confirmationRate: number | null;
  readonly medianAckMs: number | null;
  readonly meanAckMs: number | null;
  readonly waiting: number;
}

export function summarize(model: AnalyticsModel): AnalyticsSummary {
  const decided = model.confirmed + model.rejected;
  const sorted = [...model.ackSamples].sort((a, b) => a - b);
  const middle = sorted.length === 0 ? null : (sorted[Math.floor((sorted.length - 1) / 2)] ?? null);
  return {
    confirmationRate: decided === 0 ? null : model.confirmed / decided,
    medianAckMs: middle,
    meanAckMs: model.ackCount === 0 ? null : model.ackTotalMs / model.ackCount,
    waiting: Object.keys(model.open).length,
  };
}
