import { err, ok, type Result } from '../../outbox';
import type { OrderCommand } from './commands';
import { OrderDomainError } from './errors';
import type { ClientOrderEvent } from './events';
import { MAX_QUANTITY } from './fields';
import { type OrderState, orderTotal } from './order';

export type Decision = Result<readonly ClientOrderEvent[], OrderDomainError>;

const none: Decision = ok([]);
const refuse = (...args: ConstructorParameters<typeof OrderDomainError>): Decision =>
  err(new OrderDomainError(...args));

/**
 * The Order aggregate's decisions. Pure: no clock, no ids, no IO. A command that is already satisfied
 * (creating the same order again, placing a placed order, cancelling a cancelled one, removing an absent
 * line) decides no events, so an offline replay is harmless.
 */
export function decide(command: OrderCommand, state: OrderState): Decision {
  if (command.type === 'CreateOrder') {
    const { orderId, customerName, currency, copiedFrom } = command;
    if (copiedFrom !== undefined && copiedFrom.toLowerCase() === orderId.toLowerCase()) {
      return refuse('copy_of_itself', 'An order cannot be a copy of itself', 'copiedFrom');
    }
    if (state.status === 'none') {
      const data = { orderId, customerName, currency, ...(copiedFrom === undefined ? {} : { copiedFrom }) };
      return ok([{ type: 'OrderCreated', data }]);
    }
    const same =
      state.customerName === customerName &&
      state.currency === currency &&
      (state.copiedFrom ?? null) === (copiedFrom ?? null);
    return same ? none : refuse('order_already_exists', `Order ${orderId} already exists`, 'orderId');
  }
  if (state.status === 'none') return refuse('order_not_found', `No order ${command.orderId}`, 'orderId');

  switch (command.type) {
    case 'CancelOrder':
      return state.status === 'cancelled'
        ? none
        : ok([{ type: 'OrderCancelled', data: { reason: command.reason } }]);
    case 'PlaceOrder': {
      if (state.placed) return none;
      if (state.status !== 'draft') return refuse('order_not_editable', `The order is ${state.status}`);
      if (state.lines.length === 0) return refuse('order_empty', 'Add at least one product before placing');
      return ok([
        { type: 'OrderPlaced', data: { total: orderTotal(state.lines), lineCount: state.lines.length } },
      ]);
    }
    default:
      break;
  }

  if (state.status !== 'draft') {
    return refuse('order_not_editable', `A ${state.status} order can no longer change its products`);
  }
  const line = state.lines.find((candidate) => candidate.sku === command.sku);
  switch (command.type) {
    case 'AddProduct': {
      const { sku, name, quantity, unitPrice } = command;
      if (line && line.unitPrice !== unitPrice) {
        return refuse('price_mismatch', `${sku} is already on the order at another price`, 'unitPrice');
      }
      if (line && line.quantity + quantity > MAX_QUANTITY) {
        return refuse(
          'quantity_out_of_range',
          `${sku} would reach ${line.quantity + quantity}; at most ${MAX_QUANTITY} per line`,
          'quantity',
        );
      }
      return ok([{ type: 'ProductAdded', data: { sku, name, quantity, unitPrice } }]);
    }
    case 'ChangeQuantity': {
      if (!line) return refuse('product_not_on_order', `${command.sku} is not on the order`, 'sku');
      if (line.quantity === command.quantity) return none;
      return ok([
        { type: 'ProductRemoved', data: { sku: line.sku } },
        {
          type: 'ProductAdded',
          data: { sku: line.sku, name: line.name, quantity: command.quantity, unitPrice: line.unitPrice },
        },
      ]);
    }
    case 'RemoveProduct':
      return line ? ok([{ type: 'ProductRemoved', data: { sku: command.sku } }]) : none;
    default: {
      const unhandled: never = command;
      return unhandled;
    }
  }
}
