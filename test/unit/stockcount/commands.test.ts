import { describe, expect, it } from 'vitest';
import { validate } from '../../../src/outbox';
import {
  AbandonCountSchema,
  AddCountedSchema,
  CommandSchema,
  parseCommand,
  RecordQuantitySchema,
  RemoveLineSchema,
  StartCountSchema,
  SubmitCountSchema,
} from '../../../src/stockcount/domain/commands';

/** The field messages a form would show for `input`, keyed by path; null when the input is accepted. */
function refusals(schema: Parameters<typeof validate>[0], input: unknown): Record<string, string> | null {
  const result = validate(schema, input);
  return result.ok ? null : { ...result.error.byField() };
}

const countId = '01937b2e-0000-7000-8000-00000000c001';

describe('StartCount', () => {
  const start = (location: unknown) => ({ type: 'StartCount', countId, location });

  it.each(['WH-01', 'STORE-02', 'B2', 'BACKROOM-SHELF-9'])('accepts the location code %s', (location) =>
    expect(refusals(StartCountSchema, start(location))).toBeNull(),
  );

  it.each([
    ['lower case', 'wh-01'],
    ['a single character', 'W'],
    ['a leading dash', '-WH1'],
    ['spaces', 'WH 01'],
    ['over 16 characters', 'WAREHOUSE-NORTH-01'],
    ['empty', ''],
  ])('refuses a location with %s, saying what a location looks like', (_why, location) =>
    expect(refusals(StartCountSchema, start(location))).toEqual({
      location:
        'Location is a code like WH-01: 2 to 16 capital letters, digits or dashes, not starting with a dash',
    }),
  );

  it('refuses a missing location and a count id that is not a UUID', () =>
    expect(refusals(StartCountSchema, { type: 'StartCount', countId: 'count-1' })).toEqual({
      countId: 'Must be a UUID',
      location: 'location is required',
    }));
});

describe('RecordQuantity', () => {
  const record = (fields: Record<string, unknown>) => ({
    type: 'RecordQuantity',
    countId,
    sku: 'TEA-GRN-100',
    quantity: 3,
    ...fields,
  });

  it.each([0, 1, 99_999])('accepts the quantity %d', (quantity) =>
    expect(refusals(RecordQuantitySchema, record({ quantity }))).toBeNull(),
  );

  it.each([
    [-1, 'Quantity cannot be negative'],
    [100_000, 'Quantity must be at most 99999'],
    [2.5, 'Quantity must be a whole number'],
    ['3', 'Quantity must be a number'],
    [Number.NaN, 'Quantity must be a number'],
  ])('refuses the quantity %s: %s', (quantity, message) =>
    expect(refusals(RecordQuantitySchema, record({ quantity }))).toEqual({ quantity: message }),
  );

  it.each(['tea-grn-100', 'TEA GRN', '', 'X'.repeat(33)])('refuses the sku %j', (sku) =>
    expect(refusals(RecordQuantitySchema, record({ sku }))).toEqual({
      sku: 'SKU is 1 to 32 capital letters, digits or dashes',
    }),
  );

  it('refuses a field the command does not have', () => {
    const issues = refusals(RecordQuantitySchema, record({ name: 'Green tea' }));
    expect(Object.keys(issues ?? {})).toEqual(['name']);
  });
});

describe('AddCounted', () => {
  const add = (quantity: unknown) => ({ type: 'AddCounted', countId, sku: 'TEA-GRN-100', quantity });

  it.each([0, 1, 99_999])('accepts adding %d', (quantity) =>
    expect(refusals(AddCountedSchema, add(quantity))).toBeNull(),
  );

  it.each([
    [-1, 'Quantity cannot be negative'],
    [100_000, 'Quantity must be at most 99999'],
    [2.5, 'Quantity must be a whole number'],
    [undefined, 'Quantity must be a number'],
  ])('refuses adding %s: %s', (quantity, message) =>
    expect(refusals(AddCountedSchema, add(quantity))).toEqual({ quantity: message }),
  );

  it('is routed by the command schema', () =>
    expect(parseCommand(add(3))).toEqual({ ok: true, value: add(3) }));
});

describe('RemoveLine and SubmitCount', () => {
  it('need a count id', () => {
    expect(refusals(RemoveLineSchema, { type: 'RemoveLine', sku: 'TEA-GRN-100' })).toEqual({
      countId: 'countId is required',
    });
    expect(refusals(SubmitCountSchema, { type: 'SubmitCount' })).toEqual({ countId: 'countId is required' });
  });

  it('RemoveLine needs a well-formed sku', () =>
    expect(refusals(RemoveLineSchema, { type: 'RemoveLine', countId, sku: 'tea' })).toEqual({
      sku: 'SKU is 1 to 32 capital letters, digits or dashes',
    }));
});

describe('AbandonCount', () => {
  const abandon = (reason: unknown) => ({ type: 'AbandonCount', countId, reason });

  it('trims the reason', () => {
    const result = validate(AbandonCountSchema, abandon('  Wrong shelf  '));
    expect(result.ok && result.value.reason).toBe('Wrong shelf');
  });

  it.each([
    ['', 'A reason is required'],
    ['   ', 'A reason is required'],
    ['x'.repeat(201), 'A reason is at most 200 characters'],
  ])('refuses the reason %j', (reason, message) =>
    expect(refusals(AbandonCountSchema, abandon(reason))).toEqual({ reason: message }),
  );
});

describe('CommandSchema', () => {
  it('routes each command by its type', () => {
    const result = parseCommand({ type: 'SubmitCount', countId });
    expect(result).toEqual({ ok: true, value: { type: 'SubmitCount', countId } });
  });

  it('names an unknown command type', () => {
    const result = parseCommand({ type: 'PlaceOrder', countId });
    expect(!result.ok && result.error.issues).toEqual([
      { path: 'type', message: 'Unknown command type "PlaceOrder"' },
    ]);
  });

  it('is a variant of strict objects with a literal type, which is how the core reads command names', () => {
    expect(CommandSchema.type).toBe('variant');
    expect(CommandSchema.key).toBe('type');
    expect(CommandSchema.options.map((option) => [option.type, option.entries.type.literal])).toEqual([
      ['strict_object', 'StartCount'],
      ['strict_object', 'RecordQuantity'],
      ['strict_object', 'AddCounted'],
      ['strict_object', 'RemoveLine'],
      ['strict_object', 'SubmitCount'],
      ['strict_object', 'AbandonCount'],
    ]);
  });
});
