import fc from 'fast-check';
import * as v from 'valibot';
import { describe, expect, it } from 'vitest';
import {
  ClientEventSchema,
  ServerEventSchema,
  type StockCountEvent,
} from '../../../src/stockcount/domain/events';
import {
  evolve,
  foldStockCount,
  initialStockCountState,
  type StockCountState,
  type StockCountStatus,
} from '../../../src/stockcount/domain/stock-count';

/** Fixed so a failure reproduces; fast-check prints the counterexample and its path. */
const SEED = 20_261_204;
const RUNS = 500;

const countIds = ['01937b2e-0000-7000-8000-00000000c001', '01937b2e-0000-7000-8000-00000000c002'];
const sku = fc.constantFrom('TEA-GRN-100', 'MLK-OAT-1L', 'CUP-PAP-250');

/** Every event type with valid payloads, including ones a valid stream would not hold at that point. */
const anyEvent: fc.Arbitrary<StockCountEvent> = fc.oneof(
  fc.record({
    type: fc.constant('CountStarted' as const),
    data: fc.record({
      countId: fc.constantFrom(...countIds),
      location: fc.constantFrom('WH-01', 'STORE-02'),
    }),
  }),
  fc.record({
    type: fc.constant('QuantityRecorded' as const),
    data: fc.record({ sku, quantity: fc.integer({ min: 0, max: 99_999 }) }),
  }),
  fc.record({ type: fc.constant('LineRemoved' as const), data: fc.record({ sku }) }),
  fc.record({
    type: fc.constant('CountSubmitted' as const),
    data: fc.record({
      lines: fc.uniqueArray(fc.record({ sku, quantity: fc.nat(50) }), {
        minLength: 1,
        selector: (line) => line.sku,
      }),
    }),
  }),
  fc.record({ type: fc.constant('CountAbandoned' as const), data: fc.record({ reason: fc.string() }) }),
  fc.record({
    type: fc.constant('CountAccepted' as const),
    data: fc.record({
      countNumber: fc.nat(999_999).map((n) => `SC-${String(n).padStart(6, '0')}`),
      acceptedAt: fc.constant('2026-12-04T10:00:00.000Z'),
    }),
  }),
  fc.record({
    type: fc.constant('CountRejected' as const),
    data: fc.record({ code: fc.constant('discrepancy'), reason: fc.string(), skus: fc.array(sku) }),
  }),
);

/** Any state evolve can reach: a random history folded from the start. */
const anyState: fc.Arbitrary<StockCountState> = fc
  .array(anyEvent, { maxLength: 12 })
  .map((history) => foldStockCount(history));

/**
 * The spec's transitions. A count exists from its CountStarted on; after that each closing fact raises the
 * status and nothing lowers it, so the same facts give the same status in any arrival order. A valid stream
 * only climbs counting → submitted → accepted | rejected, or counting → abandoned; the rest of the ranking
 * only settles streams no server would store.
 */
const RANK: Record<StockCountStatus, number> = {
  counting: 0,
  submitted: 1,
  accepted: 2,
  rejected: 3,
  abandoned: 4,
};
const RAISES: Partial<Record<StockCountEvent['type'], StockCountStatus>> = {
  CountSubmitted: 'submitted',
  CountAccepted: 'accepted',
  CountRejected: 'rejected',
  CountAbandoned: 'abandoned',
};

function expectedStatus(state: StockCountState, event: StockCountEvent): StockCountState['status'] {
  if (state.status === 'none') return event.type === 'CountStarted' ? 'counting' : 'none';
  const raised = RAISES[event.type];
  return raised && RANK[raised] > RANK[state.status] ? raised : state.status;
}

describe('evolve', () => {
  it('the arbitraries produce only events the schemas accept', () =>
    fc.assert(
      fc.property(anyEvent, (event) => {
        const schema =
          event.type === 'CountAccepted' || event.type === 'CountRejected'
            ? ServerEventSchema
            : ClientEventSchema;
        // Reasons from fc.string() may be empty; the event schema takes any short text, as the protocol does.
        expect(v.safeParse(schema, event).success).toBe(true);
      }),
      { seed: SEED, numRuns: RUNS },
    ));

  it('is total, and moves the status only as the spec says, for any events on any state', () =>
    fc.assert(
      fc.property(anyState, fc.array(anyEvent, { maxLength: 20 }), (from, events) => {
        let state = from;
        for (const event of events) {
          const next = evolve(state, event);
          expect(next.status).toBe(expectedStatus(state, event));
          state = next;
        }
      }),
      { seed: SEED, numRuns: RUNS },
    ));

  it('is pure: it never changes the state it is given, and the same inputs give the same state', () =>
    fc.assert(
      fc.property(anyState, anyEvent, (state, event) => {
        const copy = structuredClone(state);
        const first = evolve(state, event);
        expect(state).toEqual(copy);
        expect(evolve(copy, event)).toEqual(first);
      }),
      { seed: SEED, numRuns: RUNS },
    ));

  it('keeps the first CountStarted: a count never changes its id or location', () =>
    fc.assert(
      fc.property(fc.array(anyEvent, { maxLength: 20 }), (events) => {
        const first = events.find(
          (event): event is Extract<StockCountEvent, { type: 'CountStarted' }> =>
            event.type === 'CountStarted',
        );
        const state = foldStockCount(events);
        if (!first) {
          expect(state).toEqual(initialStockCountState);
          return;
        }
        expect(state.status !== 'none' && [state.countId, state.location]).toEqual([
          first.data.countId,
          first.data.location,
        ]);
      }),
      { seed: SEED, numRuns: RUNS },
    ));

  it('holds each sku at most once, at the quantity recorded last since it was last removed', () =>
    fc.assert(
      fc.property(fc.array(anyEvent, { maxLength: 30 }), (events) => {
        const model = new Map<string, number>();
        let started = false;
        for (const event of events) {
          if (event.type === 'CountStarted') started = true;
          if (!started) continue;
          if (event.type === 'QuantityRecorded') model.set(event.data.sku, event.data.quantity);
          if (event.type === 'LineRemoved') model.delete(event.data.sku);
        }
        const state = foldStockCount(events);
        const lines = state.status === 'none' ? [] : state.lines;
        expect(new Map(lines.map((line) => [line.sku, line.quantity]))).toEqual(model);
        expect(lines).toHaveLength(model.size);
      }),
      { seed: SEED, numRuns: RUNS },
    ));

  it('reaches the same status from the same closing facts in any arrival order', () =>
    fc.assert(
      fc.property(
        fc
          .array(anyEvent, { maxLength: 12 })
          .chain((events) =>
            fc.tuple(
              fc.constant(events),
              fc.shuffledSubarray(events, { minLength: events.length, maxLength: events.length }),
            ),
          ),
        ([events, shuffled]) => {
          const start: StockCountEvent = {
            type: 'CountStarted',
            data: { countId: countIds[0] ?? '', location: 'WH-01' },
          };
          expect(foldStockCount([start, ...shuffled]).status).toBe(foldStockCount([start, ...events]).status);
        },
      ),
      { seed: SEED, numRuns: RUNS },
    ));

  it('leaves the state as it is for an event type only a newer peer knows', () => {
    const state = foldStockCount([
      { type: 'CountStarted', data: { countId: countIds[0] ?? '', location: 'WH-01' } },
    ]);
    const fromTheFuture = { type: 'CountAudited', data: {} } as unknown as StockCountEvent;
    expect(evolve(state, fromTheFuture)).toBe(state);
    expect(evolve(initialStockCountState, fromTheFuture)).toBe(initialStockCountState);
  });
});
