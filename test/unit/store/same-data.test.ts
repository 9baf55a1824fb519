import { describe, expect, it } from 'vitest';
import { sameData } from '../../../src/outbox/page/same-data';

/** A row is drawn again unless every field it holds, however deep, is the same: these are the ways it differs. */
describe('sameData', () => {
  const row = {
    id: 'a',
    total: 4980,
    rejection: null,
    delivery: { state: 'local', retryAt: null, blocked: { streamId: 'x', versions: [1, 2] } },
  };

  it('calls two reads of the same row the same', () => {
    expect(sameData(row, structuredClone(row))).toBe(true);
    expect(sameData(Number.NaN, Number.NaN)).toBe(true);
  });

  it('tells apart a changed field at any depth, a field added or gone, and an array for an object', () => {
    expect(sameData(row, { ...row, total: 5430 })).toBe(false);
    expect(sameData(row, { ...row, delivery: { ...row.delivery, state: 'sending' } })).toBe(false);
    expect(
      sameData(row, { ...row, delivery: { ...row.delivery, blocked: { streamId: 'x', versions: [1, 3] } } }),
    ).toBe(false);
    expect(sameData(row, { ...row, waitingFor: 'alice' })).toBe(false);
    expect(sameData({ a: undefined }, { b: undefined })).toBe(false);
    expect(sameData(row, { ...row, rejection: {} })).toBe(false);
    expect(sameData({ 0: 'x' }, ['x'])).toBe(false);
    expect(sameData([1, 2], [1, 2, 3])).toBe(false);
  });
});
