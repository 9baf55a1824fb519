import { DomainError } from '../../outbox';

/** Why the stock count refused a command. Codes are stable: the UI and tests match on them. */
export type StockCountErrorCode =
  /** No count with this id was started on this device. */
  | 'count_not_found'
  /** The id is taken by a count of another location. */
  | 'count_already_exists'
  /** The count is submitted, decided or abandoned: its lines are final. */
  | 'count_not_open'
  /** Submitting a count with no line would tell the server nothing. */
  | 'count_empty'
  /** A new sku would pass the most lines a count holds. */
  | 'too_many_lines'
  /** Adding to a line would pass the most one line holds. */
  | 'line_too_large';

export class StockCountDomainError extends DomainError<StockCountErrorCode> {
  constructor(code: StockCountErrorCode, message: string, field?: string) {
    super(code, message, field);
    this.name = 'StockCountDomainError';
  }
}
