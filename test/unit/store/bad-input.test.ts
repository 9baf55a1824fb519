import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { OrderDomainError } from '../../../src/orders/domain/errors';
import { ValidationError } from '../../../src/outbox/validation';
import { create, dump, makeStore, must, type Store } from './fixtures';

let store: Store;
let orderId: string;
beforeEach(async () => {
  store = makeStore();
  orderId = store.ids();
  await must(store.handler.execute({ command: create(orderId) }));
});
afterEach(() => store.db.close());

const addProduct = (overrides: Record<string, unknown>) => ({
  type: 'AddProduct',
  orderId,
  sku: 'ESP-1',
  name: 'Espresso',
  quantity: 1,
  unitPrice: 250,
  ...overrides,
});

/** Runs the command and proves it was refused with a field-level message and that nothing at all was written. */
async function expectRefused(command: unknown, field: string, message: RegExp, extra: object = {}) {
  const before = await dump(store.db);
  const heard = store.published.length;
  const result = await store.handler.execute({ command, ...extra });
  expect(result.ok).toBe(false);
  if (result.ok) return;
  expect(result.error).toBeInstanceOf(ValidationError);
  const error = result.error as ValidationError;
  expect(error.code).toBe('validation_failed');
  expect(error.byField()[field]).toMatch(message);
  expect(await dump(store.db)).toEqual(before);
  expect(store.published).toHaveLength(heard);
}

describe('bad input is refused with a clear message and writes nothing', () => {
  it.each([
    [0, /at least 1/],
    [-1, /at least 1/],
    [1.5, /whole number/],
    [Number.NaN, /must be a number/],
    [1000, /at most 999/],
    ['2', /must be a number/],
  ])('quantity %s', async (quantity, message) => {
    await expectRefused(addProduct({ quantity }), 'quantity', message);
  });

  it.each([
    [-1, /cannot be negative/],
    [2.5, /minor units/],
  ])('unit price %s', async (unitPrice, message) => {
    await expectRefused(addProduct({ unitPrice }), 'unitPrice', message);
  });

  it('quantity on ChangeQuantity too', async () => {
    await expectRefused(
      { type: 'ChangeQuantity', orderId, sku: 'ESP-1', quantity: 0 },
      'quantity',
      /at least 1/,
    );
  });

  it('an unknown currency', async () => {
    await expectRefused(create(store.ids(), 'Ada', 'EURO'), 'currency', /Unknown currency/);
    await expectRefused(create(store.ids(), 'Ada', 'XXX'), 'currency', /Unknown currency/);
  });

  it.each([
    ['', /required/],
    ['   ', /required/],
    ['x'.repeat(10_000), /at most 200/],
  ])('customer name %#', async (customerName, message) => {
    await expectRefused(create(store.ids(), customerName), 'customerName', message);
  });

  it.each(['esp-1', 'ESP 1', ' ESP-1', '', 'A'.repeat(33)])('sku %j', async (sku) => {
    await expectRefused(addProduct({ sku }), 'sku', /capital letters, digits or dashes/);
  });

  it('an unknown command type', async () => {
    await expectRefused({ type: 'DeleteOrder', orderId }, 'type', /Unknown command type "DeleteOrder"/);
  });

  it('a missing command type', async () => {
    await expectRefused({ orderId }, 'type', /Unknown command type/);
  });

  it('a missing field', async () => {
    const { name: _name, ...withoutName } = addProduct({});
    await expectRefused(withoutName, 'name', /^name is required$/);
  });

  it('a field the command does not have', async () => {
    await expectRefused(addProduct({ discount: 10 }), 'discount', /.+/);
  });

  it('an order id that is not a UUID', async () => {
    await expectRefused(addProduct({ orderId: 'order-1' }), 'orderId', /UUID/);
  });

  it('a commandId that is not a UUID', async () => {
    await expectRefused(addProduct({}), 'commandId', /UUID/, { commandId: 'click-1' });
  });

  it('not an object at all', async () => {
    await expectRefused('AddProduct', '', /Unknown command type/);
  });
});

describe('a refusal by the order writes nothing', () => {
  it('an order id that does not exist', async () => {
    const before = await dump(store.db);
    const result = await store.handler.execute({ command: addProduct({ orderId: store.ids() }) });
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.error).toBeInstanceOf(OrderDomainError);
      expect(result.error.code).toBe('order_not_found');
    }
    expect(await dump(store.db)).toEqual(before);
  });

  it('placing an empty order', async () => {
    const before = await dump(store.db);
    const result = await store.handler.execute({ command: { type: 'PlaceOrder', orderId } });
    expect(!result.ok && result.error.code).toBe('order_empty');
    expect(await dump(store.db)).toEqual(before);
  });
});
