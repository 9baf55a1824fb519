import { describe, expect, it } from 'vitest';
import { orders } from '../../../src/orders/stream-type';
import { createStreamTypes, validate } from '../../../src/outbox';
import { countIdOf, STOCKCOUNT, streamIdOf } from '../../../src/stockcount/stream-ids';
import { stockCounts } from '../../../src/stockcount/stream-type';

const countId = '01937b2e-0000-7000-8000-00000000c001';

describe('the stockcount stream type', () => {
  it('is named stockcount, its streams stockcount-<uuid>', () => {
    expect(stockCounts.name).toBe('stockcount');
    expect(streamIdOf(countId)).toBe(`stockcount-${countId}`);
    expect(countIdOf(streamIdOf(countId))).toBe(countId);
    expect(STOCKCOUNT).toBe(stockCounts.name);
  });

  it('composes with orders: no command, table or name in common', () => {
    const types = createStreamTypes([orders, stockCounts]);
    for (const command of ['StartCount', 'RecordQuantity', 'RemoveLine', 'SubmitCount', 'AbandonCount']) {
      expect(types.byCommandType(command)).toBe(stockCounts);
    }
    expect(types.byCommandType('CreateOrder')).toBe(orders);
    expect(types.parse(streamIdOf(countId))).toEqual({ type: stockCounts, id: countId });
    expect(Object.keys(types.tables)).toEqual(
      expect.arrayContaining(['orders', 'orderLines', 'stockCounts', 'stockCountLines']),
    );
  });

  it('addresses a command to its count', () => {
    const parsed = validate(stockCounts.commands, { type: 'SubmitCount', countId });
    expect(parsed.ok && stockCounts.idOf(parsed.value)).toBe(countId);
  });

  it('goes from command to read-model rows with its own parts, as the core drives it', () => {
    const command = validate(stockCounts.commands, { type: 'StartCount', countId, location: 'WH-01' });
    if (!command.ok) throw command.error;
    const decision = stockCounts.decide(command.value, stockCounts.initialState);
    if (!decision.ok) throw decision.error;
    const [event] = decision.value;
    expect(validate(stockCounts.events, event).ok).toBe(true);
    if (!event) throw new Error('StartCount decided nothing');
    const after = stockCounts.evolve(stockCounts.initialState, event);
    const rows = stockCounts.readModels.rows({
      streamId: streamIdOf(countId),
      id: countId,
      before: stockCounts.initialState,
      after,
      event: {
        ...event,
        kind: 'client',
        version: 1,
        eventId: '01937b2e-0000-7000-8000-0000000e0001',
        streamId: streamIdOf(countId),
        occurredAt: '2026-12-04T09:00:00.000Z',
      },
      version: 1,
      createdAt: '2026-12-04T09:00:00.000Z',
      updatedAt: '2026-12-04T09:00:00.000Z',
    });
    expect(rows.stockCounts).toMatchObject({ id: countId, location: 'WH-01', status: 'counting' });
  });
});
