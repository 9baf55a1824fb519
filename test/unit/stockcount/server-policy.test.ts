import fc from 'fast-check';
import * as v from 'valibot';
import { describe, expect, it } from 'vitest';
import { catalog } from '../../../src/catalog/products';
import type { ClientEventOf, ServerDecisionContext } from '../../../src/outbox';
import type { StockCountCommand } from '../../../src/stockcount/domain/commands';
import { decide } from '../../../src/stockcount/domain/decide';
import {
  type ClientStockCountEvent,
  type CountLine,
  ServerEventSchema,
} from '../../../src/stockcount/domain/events';
import {
  CountedQuantitySchema,
  LocationSchema,
  MAX_LINES,
  SkuSchema,
} from '../../../src/stockcount/domain/fields';
import {
  evolve,
  initialStockCountState,
  type StockCountState,
} from '../../../src/stockcount/domain/stock-count';
import {
  countNumberFor,
  decideCount,
  isDiscrepancy,
  TOLERATED_PERCENT,
  TOLERATED_UNITS,
} from '../../../src/stockcount/server/count-decision';
import { EXPECTED_STOCK, expectedStockOf } from '../../../src/stockcount/server/expected-stock';
import { stockCountServerPolicy } from '../../../src/stockcount/server/policy';
import { streamIdOf } from '../../../src/stockcount/stream-ids';

const countId = '01937b2e-0000-7000-8000-00000000c001';
const streamId = streamIdOf(countId);
const context: ServerDecisionContext = { now: Date.parse('2026-12-04T10:00:00.000Z'), nextServerSeq: 42 };

type Event = ClientEventOf<ClientStockCountEvent>;

/** The events of one stream with their envelopes, versions 1, 2, 3… as a client writes them. */
const stream = (...events: ClientStockCountEvent[]): Event[] =>
  events.map((event, index) => ({
    ...event,
    kind: 'client',
    version: index + 1,
    eventId: `01937b2e-0000-7000-8000-0000000e${String(index + 1).padStart(4, '0')}`,
    streamId,
    occurredAt: '2026-12-04T09:00:00.000Z',
  }));

/**
 * What a server does with a stream pushed in order: each event checked by the rules against the state the
 * events before it fold to, then folded in. Returns the state before the last event and why it was refused.
 */
function push(events: readonly Event[]): { before: StockCountState; breach: string | null } {
  let state = initialStockCountState;
  for (const [index, event] of events.entries()) {
    const breach = stockCountServerPolicy.breach(state, event);
    if (breach !== null || index === events.length - 1) return { before: state, breach };
    state = evolve(state, event);
  }
  return { before: state, breach: null };
}

const started = (at = 'STORE-01', id = countId): ClientStockCountEvent => ({
  type: 'CountStarted',
  data: { countId: id, location: at },
});
const recorded = (sku: string, quantity: number): ClientStockCountEvent => ({
  type: 'QuantityRecorded',
  data: { sku, quantity },
});
const removed = (sku: string): ClientStockCountEvent => ({ type: 'LineRemoved', data: { sku } });
const submitted = (...lines: [string, number][]): ClientStockCountEvent => ({
  type: 'CountSubmitted',
  data: { lines: lines.map(([sku, quantity]) => ({ sku, quantity })) },
});
const abandoned: ClientStockCountEvent = { type: 'CountAbandoned', data: { reason: 'Wrong shelf' } };

/** Decides on the last event of a stream whose earlier events the server stored. */
function decideOn(events: readonly Event[], at: ServerDecisionContext = context) {
  const { before, breach } = push(events);
  expect(breach).toBeNull();
  const last = events.at(-1);
  if (!last) throw new Error('an empty stream decides nothing');
  const decisions = stockCountServerPolicy.decide(before, last, at);
  for (const decision of decisions) expect(v.safeParse(ServerEventSchema, decision).success).toBe(true);
  return decisions;
}

describe('the expected stock table', () => {
  const locations = Object.keys(EXPECTED_STOCK);

  it('covers every catalog sku at each of its locations, and nothing else', () => {
    const skus = catalog.map((product) => product.sku).sort();
    for (const location of locations)
      expect(Object.keys(EXPECTED_STOCK[location] ?? {}).sort()).toEqual(skus);
    expect(locations.length).toBeGreaterThanOrEqual(3);
  });

  it('holds only well-formed locations and skus, and quantities a count could record', () => {
    for (const [location, stock] of Object.entries(EXPECTED_STOCK)) {
      expect(v.is(LocationSchema, location)).toBe(true);
      for (const [sku, quantity] of Object.entries(stock)) {
        expect(v.is(SkuSchema, sku)).toBe(true);
        expect(v.is(CountedQuantitySchema, quantity)).toBe(true);
      }
    }
  });

  it('expects none of a sku or location it does not know, prototype keys included', () => {
    expect(expectedStockOf('STORE-01', 'TEA-GRN-100')).toBe(10);
    expect(expectedStockOf('STORE-01', 'NEW-SKU')).toBe(0);
    expect(expectedStockOf('WH-99', 'TEA-GRN-100')).toBe(0);
    expect(expectedStockOf('STORE-01', 'constructor')).toBe(0);
    expect(expectedStockOf('__proto__', 'toString')).toBe(0);
  });
});

describe(`the discrepancy threshold: off by more than ${TOLERATED_UNITS} units and ${TOLERATED_PERCENT}%`, () => {
  it.each([
    [20, 22, false, 'two units off is within the unit tolerance'],
    [20, 23, true, 'three units off on 20 is 15%'],
    [4, 2, false, 'two short on a small shelf (50%) is still counting noise'],
    [4, 1, true, 'three short on 4'],
    [100, 110, false, 'exactly 10% is tolerated'],
    [100, 111, true, 'just over 10%'],
    [100, 89, true, 'just over 10% short'],
    [1200, 1195, false, 'five cups out of 1200'],
    [1200, 1079, true, 'more than 120 cups short'],
    [0, 2, false, 'a couple of an unknown sku'],
    [0, 3, true, 'stock the table does not know about'],
    [7, 7, false, 'an exact count'],
  ])('expected %d, counted %d: discrepancy %s (%s)', (expected, counted, discrepant) =>
    expect(isDiscrepancy(counted, expected)).toBe(discrepant),
  );

  it('is the same over and under, and never tighter as the difference grows', () =>
    fc.assert(
      fc.property(fc.nat(99_999), fc.nat(99_999), fc.nat(10), (expected, difference, more) => {
        const over = isDiscrepancy(expected + difference, expected);
        if (difference <= expected) expect(isDiscrepancy(expected - difference, expected)).toBe(over);
        if (over) expect(isDiscrepancy(expected + difference + more, expected)).toBe(true);
      }),
      { seed: 20_261_204, numRuns: 500 },
    ));
});

describe('the server decision on CountSubmitted', () => {
  it('accepts a count within tolerance, numbered from nextServerSeq, at the server’s time', () => {
    const events = stream(
      started(),
      recorded('TEA-GRN-100', 10),
      recorded('MLK-OAT-1L', 35),
      submitted(['TEA-GRN-100', 10], ['MLK-OAT-1L', 35]),
    );
    expect(decideOn(events)).toEqual([
      { type: 'CountAccepted', data: { countNumber: 'SC-000042', acceptedAt: '2026-12-04T10:00:00.000Z' } },
    ]);
    expect(decideOn(events, { ...context, nextServerSeq: 1_234_567 })).toMatchObject([
      { data: { countNumber: 'SC-1234567' } },
    ]);
  });

  it('rejects with exactly the discrepant skus, in the sheet’s order', () => {
    const events = stream(
      started('STORE-01'),
      recorded('COF-ESP-1KG', 12), // expected 24
      recorded('TEA-GRN-100', 10), // expected 10
      recorded('NEW-SKU', 5), // not in the table: expected 0
      recorded('DISC-MCH-01', 2), // expected 0, within the unit tolerance
      recorded('MLK-WHL-1L', 60), // expected 48
      submitted(
        ['COF-ESP-1KG', 12],
        ['TEA-GRN-100', 10],
        ['NEW-SKU', 5],
        ['DISC-MCH-01', 2],
        ['MLK-WHL-1L', 60],
      ),
    );
    expect(decideOn(events)).toEqual([
      {
        type: 'CountRejected',
        data: {
          code: 'discrepancy',
          reason:
            'Recount: off by more than 2 units and 10%: COF-ESP-1KG counted 12, expected 24; NEW-SKU counted 5, expected 0; MLK-WHL-1L counted 60, expected 48',
          skus: ['COF-ESP-1KG', 'NEW-SKU', 'MLK-WHL-1L'],
        },
      },
    ]);
  });

  it('judges against the count’s own location', () => {
    const at = (location: string) =>
      stream(started(location), recorded('CUP-PAP-250', 40), submitted(['CUP-PAP-250', 40]));
    expect(decideOn(at('STORE-02'))).toMatchObject([{ type: 'CountAccepted' }]);
    expect(decideOn(at('STORE-01'))).toMatchObject([
      { type: 'CountRejected', data: { skus: ['CUP-PAP-250'] } },
    ]);
    expect(decideOn(at('WH-42'))).toMatchObject([{ type: 'CountRejected', data: { skus: ['CUP-PAP-250'] } }]);
  });

  it('keeps the reason within 200 characters however many lines are off, and every sku in skus', () => {
    const skus = Array.from({ length: 40 }, (_, index) => `MISSING-${index}`);
    const events = stream(
      started('WH-01'),
      ...skus.map((sku) => recorded(sku, 50)),
      submitted(...skus.map((sku): [string, number] => [sku, 50])),
    );
    const [decision] = decideOn(events);
    expect(decision?.type).toBe('CountRejected');
    if (decision?.type !== 'CountRejected') return;
    expect(decision.data.reason).toHaveLength(200);
    expect(decision.data.reason.endsWith('…')).toBe(true);
    expect(decision.data.skus).toEqual(skus);
  });

  it.each([
    ['CountStarted', stream(started())],
    ['QuantityRecorded', stream(started(), recorded('TEA-GRN-100', 999))],
    ['LineRemoved', stream(started(), recorded('TEA-GRN-100', 999), removed('TEA-GRN-100'))],
    ['CountAbandoned', stream(started(), abandoned)],
  ])('decides nothing on %s', (_type, events) => expect(decideOn(events)).toEqual([]));

  it('decideCount takes another source of expected stock', () => {
    const lines: CountLine[] = [{ sku: 'TEA-GRN-100', quantity: 10 }];
    expect(decideCount('STORE-01', lines, () => 50)).toMatchObject({ type: 'CountRejected' });
    expect(decideCount('STORE-01', lines)).toEqual({ type: 'CountAccepted' });
  });

  it('numbers counts SC- and six digits at least', () => {
    expect(countNumberFor(1)).toBe('SC-000001');
    expect(countNumberFor(999_999)).toBe('SC-999999');
    expect(countNumberFor(1_000_000)).toBe('SC-1000000');
  });
});

describe('the rules on a count’s stream', () => {
  it('store a valid stream event by event', () => {
    const events = stream(
      started(),
      recorded('TEA-GRN-100', 3),
      recorded('TEA-GRN-100', 4),
      recorded('MLK-OAT-1L', 0),
      removed('MLK-OAT-1L'),
      submitted(['TEA-GRN-100', 4]),
    );
    for (let length = 1; length <= events.length; length += 1) {
      expect(push(events.slice(0, length)).breach).toBeNull();
    }
    expect(push(stream(started(), recorded('TEA-GRN-100', 3), abandoned)).breach).toBeNull();
  });

  it('take the count id in any letter case', () =>
    expect(push(stream(started('STORE-01', countId.toUpperCase()))).breach).toBeNull());

  it.each<[string, Event[], string]>([
    [
      'a stream that does not start with CountStarted',
      stream(recorded('TEA-GRN-100', 1)),
      'The stream must start with CountStarted, not QuantityRecorded',
    ],
    [
      'a CountStarted for another count',
      stream(started('STORE-01', '01937b2e-0000-7000-8000-00000000c999')),
      "CountStarted's countId 01937b2e-0000-7000-8000-00000000c999 is not the stream's count id",
    ],
    [
      'a second CountStarted',
      stream(started(), started()),
      'The count already exists: a stream has only one CountStarted',
    ],
    [
      'a quantity after submitting',
      stream(
        started(),
        recorded('TEA-GRN-100', 1),
        submitted(['TEA-GRN-100', 1]),
        recorded('TEA-GRN-100', 2),
      ),
      'Quantities cannot be recorded: the count is submitted',
    ],
    [
      'a quantity after abandoning',
      stream(started(), abandoned, recorded('TEA-GRN-100', 2)),
      'Quantities cannot be recorded: the count is abandoned',
    ],
    [
      'a removal after submitting',
      stream(started(), recorded('TEA-GRN-100', 1), submitted(['TEA-GRN-100', 1]), removed('TEA-GRN-100')),
      'Lines cannot be removed: the count is submitted',
    ],
    [
      'a removal after abandoning',
      stream(started(), recorded('TEA-GRN-100', 1), abandoned, removed('TEA-GRN-100')),
      'Lines cannot be removed: the count is abandoned',
    ],
    [
      'a removal of a line the count does not hold',
      stream(started(), removed('TEA-GRN-100')),
      'The count holds no TEA-GRN-100',
    ],
    [
      'a submission with no lines',
      stream(started(), submitted(['TEA-GRN-100', 1])),
      'A count needs at least one line to be submitted',
    ],
    [
      'a submission whose lines were all removed',
      stream(started(), recorded('TEA-GRN-100', 1), removed('TEA-GRN-100'), submitted(['TEA-GRN-100', 1])),
      'A count needs at least one line to be submitted',
    ],
    [
      'a second submission',
      stream(
        started(),
        recorded('TEA-GRN-100', 1),
        submitted(['TEA-GRN-100', 1]),
        submitted(['TEA-GRN-100', 1]),
      ),
      'The count is already submitted',
    ],
    [
      'a submission of an abandoned count',
      stream(started(), recorded('TEA-GRN-100', 1), abandoned, submitted(['TEA-GRN-100', 1])),
      'The count cannot be submitted: it is abandoned',
    ],
    [
      'a submission with another quantity than recorded',
      stream(started(), recorded('TEA-GRN-100', 1), submitted(['TEA-GRN-100', 2])),
      'CountSubmitted does not match the recorded lines: TEA-GRN-100 is 2, recorded as 1',
    ],
    [
      'a submission with a line never recorded',
      stream(started(), recorded('TEA-GRN-100', 1), submitted(['TEA-GRN-100', 1], ['MLK-OAT-1L', 0])),
      'CountSubmitted does not match the recorded lines: MLK-OAT-1L was never recorded',
    ],
    [
      'a submission that leaves a recorded line out',
      stream(started(), recorded('TEA-GRN-100', 1), recorded('MLK-OAT-1L', 0), submitted(['TEA-GRN-100', 1])),
      'CountSubmitted does not match the recorded lines: MLK-OAT-1L is left out',
    ],
    ['a second abandonment', stream(started(), abandoned, abandoned), 'The count is already abandoned'],
    [
      'an abandonment after submitting',
      stream(started(), recorded('TEA-GRN-100', 1), submitted(['TEA-GRN-100', 1]), abandoned),
      'The count cannot be abandoned: it is submitted',
    ],
  ])('refuse %s', (_case, events, reason) => expect(push(events).breach).toBe(reason));

  it('refuse a CountStarted that is not the stream’s first version', () => {
    const [first] = stream(started());
    if (!first) throw new Error('no event');
    expect(stockCountServerPolicy.breach(initialStockCountState, { ...first, version: 2 })).toBe(
      "CountStarted must be the stream's version 1, not 2",
    );
  });

  it(`refuse a new line past ${MAX_LINES} but take a recount of a line already held`, () => {
    const full = [started(), ...Array.from({ length: MAX_LINES }, (_, index) => recorded(`SKU-${index}`, 1))];
    expect(push(stream(...full, recorded('ONE-MORE', 1))).breach).toBe(
      `A count holds at most ${MAX_LINES} skus`,
    );
    expect(push(stream(...full, recorded('SKU-0', 2))).breach).toBeNull();
  });

  it('accept whatever the client decides: client and server read a stream the same way', () => {
    const sku = fc.constantFrom('TEA-GRN-100', 'MLK-OAT-1L', 'CUP-PAP-250');
    const command: fc.Arbitrary<StockCountCommand> = fc.oneof(
      fc.constantFrom<StockCountCommand>(
        { type: 'StartCount', countId, location: 'STORE-01' },
        { type: 'SubmitCount', countId },
        { type: 'AbandonCount', countId, reason: 'Wrong shelf' },
      ),
      fc.record({
        type: fc.constant('RecordQuantity' as const),
        countId: fc.constant(countId),
        sku,
        quantity: fc.nat(30),
      }),
      fc.record({ type: fc.constant('RemoveLine' as const), countId: fc.constant(countId), sku }),
    );
    fc.assert(
      fc.property(fc.array(command, { maxLength: 25 }), (commands) => {
        let state = initialStockCountState;
        const written: ClientStockCountEvent[] = [];
        for (const next of commands) {
          const decision = decide(next, state);
          if (!decision.ok) continue;
          for (const event of decision.value) {
            written.push(event);
            state = evolve(state, event);
          }
        }
        const events = stream(...written);
        for (let length = 1; length <= events.length; length += 1) {
          expect(push(events.slice(0, length)).breach).toBeNull();
        }
      }),
      { seed: 20_261_204, numRuns: 300 },
    );
  });
});
