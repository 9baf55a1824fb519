import { describe, expect, it } from 'vitest';
import { describeOrderEvent } from '../../../src/orders/page/order-text';
import type { StoredEvent } from '../../../src/outbox/page';

describe('describeOrderEvent', () => {
  const envelope = {
    kind: 'client',
    eventId: 'e',
    streamId: 's',
    version: 1,
    schemaVersion: 1,
    occurredAt: '2026-11-26T12:00:00.000Z',
    metadata: {
      commandId: 'c',
      correlationId: 'c',
      causationId: null,
      occurredAt: '2026-11-26T12:00:00.000Z',
      clientId: 'x',
    },
  } as const;
  it.each([
    [
      {
        ...envelope,
        type: 'ProductAdded',
        data: { sku: 'ESP-1', name: 'Espresso', quantity: 2, unitPrice: 1 },
      },
      'Added 2 × Espresso (ESP-1)',
    ],
    [{ ...envelope, type: 'ProductRemoved', data: { sku: 'ESP-1' } }, 'Removed ESP-1'],
    [{ ...envelope, type: 'OrderPlaced', data: { total: 10, lineCount: 1 } }, 'Placed with 1 line'],
    [{ ...envelope, type: 'OrderCancelled', data: { reason: 'Duplicate' } }, 'Cancelled: Duplicate'],
  ] satisfies [StoredEvent, string][])('%#: %s', (event, text) => {
    expect(describeOrderEvent(event)).toBe(text);
  });
});
