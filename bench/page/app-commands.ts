import type { OrderCommand } from '../../src/orders/domain/commands';
import { newId } from '../../src/outbox/ids';

/**
 * The app path's commands, as a form issues them (each with its commandId): a new order, then a product added
 * to it, and again. The same payloads as fixtures.ts `createOrder` and `addProduct(orderId, 1)`, written out
 * here so the app page imports nothing the app itself would not load first.
 */
export function appPathCommands(
  commands: number,
  firstOrder: number,
): { commandId: string; command: OrderCommand }[] {
  const requests: { commandId: string; command: OrderCommand }[] = [];
  let orderId = '';
  for (let i = 0; i < commands; i += 1) {
    const n = firstOrder + Math.floor(i / 2);
    if (i % 2 === 0) orderId = newId();
    const command: OrderCommand =
      i % 2 === 0
        ? { type: 'CreateOrder', orderId, customerName: `Customer ${n} of the benchmark`, currency: 'EUR' }
        : {
            type: 'AddProduct',
            orderId,
            sku: 'SKU-1',
            name: 'Product number 1',
            quantity: 2,
            unitPrice: 251,
          };
    requests.push({ commandId: newId(), command });
  }
  return requests;
}
