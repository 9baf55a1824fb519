import { describe, expect, it } from 'vitest';
import type { ClientOrderEvent } from '../../../src/orders/domain/events';
import { foldOrder, initialOrderState, type OrderLine } from '../../../src/orders/domain/order';
import { decidePlacement } from '../../../src/orders/server/placement-decision';
import { streamRuleBreach } from '../../../src/orders/server/stream-rules';
import type { ClientEventOf } from '../../../src/outbox';

const orderId = '01937b2e-0000-7000-8000-000000000001';
const streamId = `order-${orderId}`;

const onStream = (event: ClientOrderEvent, version: number) =>
  ({
    ...event,
    kind: 'client',
    streamId,
    version,
  }) as unknown as ClientEventOf<ClientOrderEvent>;

const line = (sku: string, quantity: number, unitPrice: number): OrderLine => ({
  sku,
  name: sku,
  quantity,
  unitPrice,
  amount: quantity * unitPrice,
});

describe('the server on a copied order', () => {
  it('stores an OrderCreated that names the order it was copied from', () => {
    const earlier = '01937b2e-0000-7000-8000-0000000000e1';
    const event = onStream(
      {
        type: 'OrderCreated',
        data: {
          orderId,
          customerName: 'Ada',
          currency: 'EUR',
          copiedFrom: earlier,
        },
      },
      1,
    );
    expect(streamRuleBreach(initialOrderState, event)).toBeNull();
    expect(foldOrder([event])).toMatchObject({ status: 'draft', copiedFrom: earlier });
  });

  it('refuses an OrderCreated that names its own order as the one it copies', () => {
    const event = onStream(
      { type: 'OrderCreated', data: { orderId, customerName: 'Ada', currency: 'EUR', copiedFrom: orderId } },
      1,
    );
    expect(streamRuleBreach(initialOrderState, event)).toMatch(/own order/);
  });
});

describe('a rejection names the lines it refuses', () => {
  it('lists every discontinued sku, so a copy can leave exactly those out', () => {
    const decision = decidePlacement(
      [line('COF-ESP-1KG', 1, 2490), line('DISC-SYR-HAZ', 2, 990), line('DISC-MCH-01', 1, 500)],
      4970,
    );
    expect(decision).toEqual({
      type: 'OrderRejected',
      code: 'discontinued_sku',
      reason: 'Discontinued: DISC-SYR-HAZ, DISC-MCH-01',
      skus: ['DISC-SYR-HAZ', 'DISC-MCH-01'],
    });
  });

  it('names no line for a refusal about the whole order', () => {
    const decision = decidePlacement([line('GRN-BRR-01', 100, 18900)], 1_890_000);
    expect(decision).toMatchObject({ type: 'OrderRejected', code: 'credit_limit' });
    expect(decision).not.toHaveProperty('skus');
  });
});
