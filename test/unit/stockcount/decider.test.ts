import { describe, expect, it } from 'vitest';
import { DomainError } from '../../../src/outbox';
import type { StockCountCommand } from '../../../src/stockcount/domain/commands';
import { decide } from '../../../src/stockcount/domain/decide';
import type { StockCountErrorCode } from '../../../src/stockcount/domain/errors';
import type { ClientStockCountEvent, StockCountEvent } from '../../../src/stockcount/domain/events';
import { MAX_COUNTED_QUANTITY, MAX_LINES } from '../../../src/stockcount/domain/fields';
import { foldStockCount } from '../../../src/stockcount/domain/stock-count';

/** Decider specifications: given these past events, when this command, then these new events or this refusal. */
function given(...history: StockCountEvent[]) {
  return {
    when(command: StockCountCommand) {
      const decision = decide(command, foldStockCount(history));
      return {
        thenEmits(...expected: ClientStockCountEvent[]) {
          expect(decision).toEqual({ ok: true, value: expected });
        },
        thenRefused(code: StockCountErrorCode, field?: string) {
          expect(decision.ok).toBe(false);
          if (decision.ok) return;
          expect(decision.error.code).toBe(code);
          expect(decision.error.field).toBe(field);
          expect(decision.error.message).not.toBe('');
        },
      };
    },
  };
}

const countId = '01937b2e-0000-7000-8000-00000000c001';
const location = 'WH-01';

const started = (at = location): ClientStockCountEvent => ({
  type: 'CountStarted',
  data: { countId, location: at },
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
const abandoned = (reason = 'Delivery arrived mid-count'): ClientStockCountEvent => ({
  type: 'CountAbandoned',
  data: { reason },
});
const accepted: StockCountEvent = {
  type: 'CountAccepted',
  data: { countNumber: 'SC-000042', acceptedAt: '2026-12-04T10:00:00.000Z' },
};
const rejected: StockCountEvent = {
  type: 'CountRejected',
  data: { code: 'discrepancy', reason: 'TEA-GRN-100 is off', skus: ['TEA-GRN-100'] },
};

const start = (at = location): StockCountCommand => ({ type: 'StartCount', countId, location: at });
const record = (sku: string, quantity: number): StockCountCommand => ({
  type: 'RecordQuantity',
  countId,
  sku,
  quantity,
});
const add = (sku: string, quantity: number): StockCountCommand => ({
  type: 'AddCounted',
  countId,
  sku,
  quantity,
});
const remove = (sku: string): StockCountCommand => ({ type: 'RemoveLine', countId, sku });
const submit: StockCountCommand = { type: 'SubmitCount', countId };
const abandon = (reason = 'Delivery arrived mid-count'): StockCountCommand => ({
  type: 'AbandonCount',
  countId,
  reason,
});

const counting = [started(), recorded('TEA-GRN-100', 12)];
const afterSubmit = [...counting, submitted(['TEA-GRN-100', 12])];

describe('StartCount', () => {
  it('starts a count for a location', () => given().when(start()).thenEmits(started()));

  it('starting the same count again for the same location yields no events', () =>
    given(started()).when(start()).thenEmits());

  it.each([
    ['submitted', afterSubmit],
    ['accepted', [...afterSubmit, accepted]],
    ['abandoned', [started(), abandoned()]],
  ])('starting a %s count again yields no events: the start is a fact of its past', (_status, history) =>
    given(...history)
      .when(start())
      .thenEmits(),
  );

  it('refuses to reuse a count id for another location, on the location field', () =>
    given(started()).when(start('STORE-02')).thenRefused('count_already_exists', 'location'));
});

describe('commands on a count that was never started', () => {
  it.each([
    ['RecordQuantity', record('TEA-GRN-100', 1)],
    ['AddCounted', add('TEA-GRN-100', 1)],
    ['RemoveLine', remove('TEA-GRN-100')],
    ['SubmitCount', submit],
    ['AbandonCount', abandon()],
  ])('%s is refused as count_not_found on countId', (_name, command) =>
    given().when(command).thenRefused('count_not_found', 'countId'),
  );
});

describe('RecordQuantity', () => {
  it('records a counted quantity', () =>
    given(started()).when(record('TEA-GRN-100', 12)).thenEmits(recorded('TEA-GRN-100', 12)));

  it('records zero: the shelf was checked and held none', () =>
    given(started()).when(record('TEA-GRN-100', 0)).thenEmits(recorded('TEA-GRN-100', 0)));

  it('a recount replaces the quantity rather than adding to it', () => {
    given(...counting)
      .when(record('TEA-GRN-100', 9))
      .thenEmits(recorded('TEA-GRN-100', 9));
    const state = foldStockCount([...counting, recorded('TEA-GRN-100', 9)]);
    expect(state.status !== 'none' && state.lines).toEqual([{ sku: 'TEA-GRN-100', quantity: 9 }]);
  });

  it('recording the quantity the line already has yields no events', () =>
    given(...counting)
      .when(record('TEA-GRN-100', 12))
      .thenEmits());

  it('keeps the lines in the order the skus were first counted', () => {
    const state = foldStockCount([started(), recorded('B-1', 1), recorded('A-1', 2), recorded('B-1', 3)]);
    expect(state.status !== 'none' && state.lines.map((line) => line.sku)).toEqual(['B-1', 'A-1']);
  });

  it.each([
    ['submitted', afterSubmit],
    ['accepted', [...afterSubmit, accepted]],
    ['rejected', [...afterSubmit, rejected]],
    ['abandoned', [started(), abandoned()]],
  ])('refuses a quantity on a %s count', (_status, history) =>
    given(...history)
      .when(record('TEA-GRN-100', 3))
      .thenRefused('count_not_open'),
  );

  describe(`at ${MAX_LINES} lines`, () => {
    const full = [started(), ...Array.from({ length: MAX_LINES }, (_, index) => recorded(`SKU-${index}`, 1))];
    it('refuses a new sku, on the sku field', () =>
      given(...full)
        .when(record('ONE-MORE', 1))
        .thenRefused('too_many_lines', 'sku'));
    it('still takes a recount of a sku already on the sheet', () =>
      given(...full)
        .when(record('SKU-7', 4))
        .thenEmits(recorded('SKU-7', 4)));
  });
});

describe('AddCounted', () => {
  it('starts a line at the units counted', () =>
    given(started()).when(add('TEA-GRN-100', 1)).thenEmits(recorded('TEA-GRN-100', 1)));

  it("adds to a line already counted, and records the line's new figure", () =>
    given(...counting)
      .when(add('TEA-GRN-100', 1))
      .thenEmits(recorded('TEA-GRN-100', 13)));

  it('adds on top of a figure recorded since, as a second scan of the same code does', () => {
    const history = [...counting, recorded('TEA-GRN-100', 13), recorded('TEA-GRN-100', 20)];
    given(...history)
      .when(add('TEA-GRN-100', 6))
      .thenEmits(recorded('TEA-GRN-100', 26));
  });

  it('records zero of a new sku: the shelf was checked and held none', () =>
    given(started()).when(add('TEA-GRN-100', 0)).thenEmits(recorded('TEA-GRN-100', 0)));

  it('adding zero to a line yields no events', () =>
    given(...counting)
      .when(add('TEA-GRN-100', 0))
      .thenEmits());

  it('refuses to take a line past the most it holds, on the quantity field, naming the total', () => {
    const history = [started(), recorded('TEA-GRN-100', MAX_COUNTED_QUANTITY - 1)];
    given(...history)
      .when(add('TEA-GRN-100', 1))
      .thenEmits(recorded('TEA-GRN-100', MAX_COUNTED_QUANTITY));
    given(...history)
      .when(add('TEA-GRN-100', 2))
      .thenRefused('line_too_large', 'quantity');
    const decision = decide(add('TEA-GRN-100', 2), foldStockCount(history));
    expect(!decision.ok && decision.error.message).toMatch(/100000 of TEA-GRN-100/);
  });

  it.each([
    ['submitted', afterSubmit],
    ['abandoned', [started(), abandoned()]],
  ])('refuses to add to a %s count', (_status, history) =>
    given(...history)
      .when(add('TEA-GRN-100', 1))
      .thenRefused('count_not_open'),
  );

  describe(`at ${MAX_LINES} lines`, () => {
    const full = [started(), ...Array.from({ length: MAX_LINES }, (_, index) => recorded(`SKU-${index}`, 1))];
    it('refuses a new sku, on the sku field', () =>
      given(...full)
        .when(add('ONE-MORE', 1))
        .thenRefused('too_many_lines', 'sku'));
    it('still adds to a sku already on the sheet', () =>
      given(...full)
        .when(add('SKU-7', 1))
        .thenEmits(recorded('SKU-7', 2)));
  });
});

describe('RemoveLine', () => {
  it('removes a line', () =>
    given(...counting)
      .when(remove('TEA-GRN-100'))
      .thenEmits(removed('TEA-GRN-100')));

  it('removing an absent line yields no events', () =>
    given(started()).when(remove('TEA-GRN-100')).thenEmits());

  it('removing a line already removed yields no events', () =>
    given(...counting, removed('TEA-GRN-100'))
      .when(remove('TEA-GRN-100'))
      .thenEmits());

  it.each([
    ['submitted', afterSubmit],
    ['abandoned', [...counting, abandoned()]],
  ])('refuses on a %s count', (_status, history) =>
    given(...history)
      .when(remove('TEA-GRN-100'))
      .thenRefused('count_not_open'),
  );
});

describe('SubmitCount', () => {
  it('submits the sheet as counted, in counting order', () =>
    given(started(), recorded('TEA-GRN-100', 12), recorded('MLK-OAT-1L', 0), recorded('TEA-GRN-100', 11))
      .when(submit)
      .thenEmits(submitted(['TEA-GRN-100', 11], ['MLK-OAT-1L', 0])));

  it('leaves removed lines out', () =>
    given(...counting, recorded('MLK-OAT-1L', 4), removed('TEA-GRN-100'))
      .when(submit)
      .thenEmits(submitted(['MLK-OAT-1L', 4])));

  it('refuses an empty count', () => given(started()).when(submit).thenRefused('count_empty'));

  it('refuses a count whose lines were all removed', () =>
    given(...counting, removed('TEA-GRN-100'))
      .when(submit)
      .thenRefused('count_empty'));

  it('submitting twice yields no events', () =>
    given(...afterSubmit)
      .when(submit)
      .thenEmits());

  it.each([
    ['accepted', [...afterSubmit, accepted]],
    ['rejected', [...afterSubmit, rejected]],
  ])('submitting a %s count yields no events', (_status, history) =>
    given(...history)
      .when(submit)
      .thenEmits(),
  );

  it('refuses to submit an abandoned count', () =>
    given(...counting, abandoned())
      .when(submit)
      .thenRefused('count_not_open'));
});

describe('AbandonCount', () => {
  it('abandons an open count, with the reason', () =>
    given(...counting)
      .when(abandon('Wrong shelf'))
      .thenEmits(abandoned('Wrong shelf')));

  it('abandons a count with no lines yet', () => given(started()).when(abandon()).thenEmits(abandoned()));

  it('abandoning twice yields no events, whatever the second reason', () =>
    given(...counting, abandoned())
      .when(abandon('Again'))
      .thenEmits());

  it.each([
    ['submitted', afterSubmit],
    ['accepted', [...afterSubmit, accepted]],
    ['rejected', [...afterSubmit, rejected]],
  ])('refuses to abandon a %s count: the server has it', (_status, history) =>
    given(...history)
      .when(abandon())
      .thenRefused('count_not_open'),
  );
});

describe('refusal messages', () => {
  it('tell a person what to do about an abandoned count', () => {
    const decision = decide(record('TEA-GRN-100', 1), foldStockCount([started(), abandoned()]));
    expect(!decision.ok && decision.error.message).toBe(
      'This count can no longer change its lines: it was abandoned; start a new count',
    );
  });

  it('name the status of a decided count', () => {
    const decision = decide(abandon(), foldStockCount([...afterSubmit, accepted]));
    expect(!decision.ok && decision.error.message).toBe(
      'This count can no longer be abandoned: it is accepted and its figures are final',
    );
  });

  it('are StockCountDomainErrors, which are the core DomainErrors', () => {
    const decision = decide(submit, foldStockCount([started()]));
    expect(!decision.ok && decision.error).toBeInstanceOf(DomainError);
    expect(!decision.ok && decision.error.name).toBe('StockCountDomainError');
  });
});
