import { describe, expect, it } from 'vitest';
import type { OrderCommand } from '../../../src/orders/domain/commands';
import { decide } from '../../../src/orders/domain/decide';
import type { OrderErrorCode } from '../../../src/orders/domain/errors';
import type { ClientOrderEvent, OrderEvent } from '../../../src/orders/domain/events';
import { foldOrder } from '../../../src/orders/domain/order';

/** Decider specifications: given these past events, when this command, then these new events or this refusal. */
function given(...history: OrderEvent[]) {
  return {
    when(command: OrderCommand) {
      const decision = decide(command, foldOrder(history));
      return {
        thenEmits(...expected: ClientOrderEvent[]) {
          expect(decision).toEqual({ ok: true, value: expected });
        },
        thenRefused(code: OrderErrorCode) {
          expect(decision.ok).toBe(false);
          if (!decision.ok) expect(decision.error.code).toBe(code);
        },
      };
    },
  };
}

const orderId = '01937b2e-0000-7000-8000-000000000001';
const created: OrderEvent = { type: 'OrderCreated', data: { orderId, customerName: 'Ada', currency: 'EUR' } };
const added = (sku: string, quantity: number, unitPrice = 250, name = `Product ${sku}`): OrderEvent => ({
  type: 'ProductAdded',
  data: { sku, name, quantity, unitPrice },
});
const removed = (sku: string): OrderEvent => ({ type: 'ProductRemoved', data: { sku } });
const placed = (total: number, lineCount: number): OrderEvent => ({
  type: 'OrderPlaced',
  data: { total, lineCount },
});
const cancelled = (reason = 'Customer called'): OrderEvent => ({ type: 'OrderCancelled', data: { reason } });
const confirmed: OrderEvent = {
  type: 'OrderConfirmed',
  data: { orderNumber: 'SO-000042', confirmedAt: '2026-11-26T12:00:00.000Z' },
};
const rejected: OrderEvent = {
  type: 'OrderRejected',
  data: { code: 'credit_limit', reason: 'Over the limit' },
};

const create = (customerName = 'Ada', currency: 'EUR' | 'USD' = 'EUR'): OrderCommand => ({
  type: 'CreateOrder',
  orderId,
  customerName,
  currency,
});
const add = (sku: string, quantity: number, unitPrice = 250, name = `Product ${sku}`): OrderCommand => ({
  type: 'AddProduct',
  orderId,
  sku,
  name,
  quantity,
  unitPrice,
});
const change = (sku: string, quantity: number): OrderCommand => ({
  type: 'ChangeQuantity',
  orderId,
  sku,
  quantity,
});
const remove = (sku: string): OrderCommand => ({ type: 'RemoveProduct', orderId, sku });
const place: OrderCommand = { type: 'PlaceOrder', orderId };
const cancel = (reason = 'Customer called'): OrderCommand => ({ type: 'CancelOrder', orderId, reason });

describe('CreateOrder', () => {
  it('creates a new order', () =>
    given()
      .when(create())
      .thenEmits(created as ClientOrderEvent));
  it('creating the same order again yields no events', () => given(created).when(create()).thenEmits());
  it('refuses to reuse an order id for another customer or currency', () => {
    given(created).when(create('Grace')).thenRefused('order_already_exists');
    given(created).when(create('Ada', 'USD')).thenRefused('order_already_exists');
  });
});

describe('CreateOrder as a copy of another order', () => {
  const earlier = '01937b2e-0000-7000-8000-0000000000e1';
  const copy = (copiedFrom: string): OrderCommand => ({ ...create(), copiedFrom }) as OrderCommand;
  it('names the order it copies in OrderCreated', () =>
    given()
      .when(copy(earlier))
      .thenEmits({
        type: 'OrderCreated',
        data: { orderId, customerName: 'Ada', currency: 'EUR', copiedFrom: earlier },
      }));
  it('creating the same copy again yields no events', () =>
    given({
      type: 'OrderCreated',
      data: { orderId, customerName: 'Ada', currency: 'EUR', copiedFrom: earlier },
    })
      .when(copy(earlier))
      .thenEmits());
  it('refuses to turn an existing order into a copy', () =>
    given(created).when(copy(earlier)).thenRefused('order_already_exists'));
  it('refuses an order that copies itself', () => given().when(copy(orderId)).thenRefused('copy_of_itself'));
});

describe('commands on an order that does not exist', () => {
  it.each([
    ['AddProduct', add('ESP-1', 1)],
    ['ChangeQuantity', change('ESP-1', 2)],
    ['RemoveProduct', remove('ESP-1')],
    ['PlaceOrder', place],
    ['CancelOrder', cancel()],
  ])('%s is refused as order_not_found', (_name, command) =>
    given().when(command).thenRefused('order_not_found'),
  );
});

describe('AddProduct', () => {
  it('adds a line to a draft', () =>
    given(created)
      .when(add('ESP-1', 2))
      .thenEmits(added('ESP-1', 2) as ClientOrderEvent));

  it('merges a sku added twice while the line stays within 999', () => {
    given(created, added('ESP-1', 500))
      .when(add('ESP-1', 499))
      .thenEmits(added('ESP-1', 499) as ClientOrderEvent);
    const state = foldOrder([created, added('ESP-1', 500), added('ESP-1', 499)]);
    expect(state.status !== 'none' && state.lines).toEqual([
      { sku: 'ESP-1', name: 'Product ESP-1', quantity: 999, unitPrice: 250, amount: 999 * 250 },
    ]);
  });

  it('refuses a merge that would pass 999', () =>
    given(created, added('ESP-1', 500)).when(add('ESP-1', 500)).thenRefused('quantity_out_of_range'));

  it('refuses the same sku at another price', () =>
    given(created, added('ESP-1', 1, 250))
      .when(add('ESP-1', 1, 300))
      .thenRefused('price_mismatch'));

  it('refuses to add to a placed order', () =>
    given(created, added('ESP-1', 1), placed(250, 1))
      .when(add('TEA-1', 1))
      .thenRefused('order_not_editable'));

  it('refuses to add to a cancelled order', () =>
    given(created, cancelled()).when(add('TEA-1', 1)).thenRefused('order_not_editable'));
});

describe('ChangeQuantity', () => {
  it('is a ProductRemoved followed by a ProductAdded with the new quantity', () =>
    given(created, added('ESP-1', 2, 250, 'Espresso'))
      .when(change('ESP-1', 5))
      .thenEmits(
        { type: 'ProductRemoved', data: { sku: 'ESP-1' } },
        { type: 'ProductAdded', data: { sku: 'ESP-1', name: 'Espresso', quantity: 5, unitPrice: 250 } },
      ));

  it('to the same quantity yields no events', () =>
    given(created, added('ESP-1', 2)).when(change('ESP-1', 2)).thenEmits());

  it('refuses a sku that is not on the order', () =>
    given(created).when(change('ESP-1', 2)).thenRefused('product_not_on_order'));

  it('refuses on a placed order', () =>
    given(created, added('ESP-1', 2), placed(500, 1))
      .when(change('ESP-1', 3))
      .thenRefused('order_not_editable'));
});

describe('RemoveProduct', () => {
  it('removes a line', () =>
    given(created, added('ESP-1', 2))
      .when(remove('ESP-1'))
      .thenEmits(removed('ESP-1') as ClientOrderEvent));
  it('removing an absent sku yields no events', () => given(created).when(remove('ESP-1')).thenEmits());
  it('refuses on a placed order', () =>
    given(created, added('ESP-1', 2), placed(500, 1))
      .when(remove('ESP-1'))
      .thenRefused('order_not_editable'));
  it('refuses on a cancelled order', () =>
    given(created, added('ESP-1', 2), cancelled()).when(remove('ESP-1')).thenRefused('order_not_editable'));
});

describe('PlaceOrder', () => {
  it('places with the total of every line and the line count', () =>
    given(created, added('ESP-1', 2, 250), added('TEA-1', 3, 100))
      .when(place)
      .thenEmits({ type: 'OrderPlaced', data: { total: 800, lineCount: 2 } }));

  it('counts the total as the protocol does: additions since the line was last removed', () =>
    given(created, added('ESP-1', 2, 250), removed('ESP-1'), added('ESP-1', 1, 300))
      .when(place)
      .thenEmits({ type: 'OrderPlaced', data: { total: 300, lineCount: 1 } }));

  it('refuses an empty order', () => given(created).when(place).thenRefused('order_empty'));
  it('refuses an order whose lines were all removed', () =>
    given(created, added('ESP-1', 1), removed('ESP-1')).when(place).thenRefused('order_empty'));
  it('placing twice yields no events', () =>
    given(created, added('ESP-1', 1), placed(250, 1)).when(place).thenEmits());
  it('placing a confirmed order yields no events', () =>
    given(created, added('ESP-1', 1), placed(250, 1), confirmed).when(place).thenEmits());
  it('refuses to place a cancelled draft', () =>
    given(created, added('ESP-1', 1), cancelled()).when(place).thenRefused('order_not_editable'));
});

describe('CancelOrder', () => {
  it('cancels a draft', () =>
    given(created)
      .when(cancel('Wrong customer'))
      .thenEmits(cancelled('Wrong customer') as ClientOrderEvent));
  it('cancels a placed order', () =>
    given(created, added('ESP-1', 1), placed(250, 1))
      .when(cancel())
      .thenEmits(cancelled() as ClientOrderEvent));
  it('cancelling twice yields no events', () =>
    given(created, cancelled()).when(cancel('Again')).thenEmits());
});

describe('cancelled after confirmed', () => {
  const history = [created, added('ESP-1', 1), placed(250, 1)];
  it.each([
    ['confirmation first', [...history, confirmed, cancelled()]],
    ['cancellation first', [...history, cancelled(), confirmed]],
    ['rejection first', [...history, rejected, cancelled()]],
    ['cancellation before a rejection', [...history, cancelled(), rejected]],
  ])('stays cancelled whatever the arrival order (%s)', (_name, events) => {
    const state = foldOrder(events);
    expect(state.status).toBe('cancelled');
    given(...events)
      .when(cancel())
      .thenEmits();
  });

  it('a confirmation keeps its order number on the cancelled order', () => {
    const state = foldOrder([...history, cancelled(), confirmed]);
    expect(state.status !== 'none' && state.orderNumber).toBe('SO-000042');
  });

  it('a confirmed order can still be cancelled', () =>
    given(...history, confirmed)
      .when(cancel())
      .thenEmits(cancelled() as ClientOrderEvent));
});
