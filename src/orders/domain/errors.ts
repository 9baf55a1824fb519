import { DomainError } from '../../outbox';

/** Why the Order aggregate refused a command. Codes are stable: the UI and tests match on them. */
export type OrderErrorCode =
  | 'order_not_found'
  | 'order_already_exists'
  | 'order_not_editable'
  | 'order_empty'
  | 'quantity_out_of_range'
  | 'price_mismatch'
  | 'product_not_on_order'
  | 'copy_of_itself';

export class OrderDomainError extends DomainError<OrderErrorCode> {
  constructor(code: OrderErrorCode, message: string, field?: string) {
    super(code, message, field);
    this.name = 'OrderDomainError';
  }
}
