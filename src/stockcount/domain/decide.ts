import { err, ok, type Result } from '../../outbox';
import type { StockCountCommand } from './commands';
import { StockCountDomainError } from './errors';
import type { ClientStockCountEvent } from './events';
import { MAX_COUNTED_QUANTITY, MAX_LINES } from './fields';
import { isOpen, type StartedStockCount, type StockCountState } from './stock-count';

export type Decision = Result<readonly ClientStockCountEvent[], StockCountDomainError>;

const none: Decision = ok([]);
const refuse = (...args: ConstructorParameters<typeof StockCountDomainError>): Decision =>
  err(new StockCountDomainError(...args));

/** A new error each time: a refusal is a value the caller may keep, never one shared between decisions. */
const tooManyLines = (): Decision =>
  refuse('too_many_lines', `A count holds at most ${MAX_LINES} skus; start another count`, 'sku');

/** Why a count that is no longer open refuses `action`, in words a person counting can act on. */
function notOpen(state: StartedStockCount, action: string): Decision {
  const why =
    state.status === 'abandoned'
      ? 'it was abandoned; start a new count'
      : `it is ${state.status} and its figures are final`;
  return refuse('count_not_open', `This count can no longer ${action}: ${why}`);
}

/**
 * The stock count's decisions. Pure: no clock, no ids, no IO. A command that is already satisfied
 * (starting the same count again, recording the quantity a line already has, removing an absent line,
 * submitting or abandoning twice) decides no events, so an offline replay is harmless. Adding to a line
 * (`AddCounted`) is never satisfied: its repeat is told by its commandId, before `decide` runs.
 */
export function decide(command: StockCountCommand, state: StockCountState): Decision {
  if (command.type === 'StartCount') {
    if (state.status === 'none') {
      const { countId, location } = command;
      return ok([{ type: 'CountStarted', data: { countId, location } }]);
    }
    return state.location === command.location
      ? none
      : refuse(
          'count_already_exists',
          `This count was started for ${state.location}, not ${command.location}`,
          'location',
        );
  }
  if (state.status === 'none') {
    return refuse('count_not_found', `No stock count ${command.countId} was started`, 'countId');
  }

  switch (command.type) {
    case 'RecordQuantity': {
      if (!isOpen(state)) return notOpen(state, 'change its lines');
      const { sku, quantity } = command;
      const line = state.lines.find((candidate) => candidate.sku === sku);
      if (line?.quantity === quantity) return none;
      if (!line && state.lines.length >= MAX_LINES) return tooManyLines();
      return ok([{ type: 'QuantityRecorded', data: { sku, quantity } }]);
    }
    case 'AddCounted': {
      if (!isOpen(state)) return notOpen(state, 'change its lines');
      const { sku, quantity } = command;
      const line = state.lines.find((candidate) => candidate.sku === sku);
      // Zero more of a line already counted changes nothing; zero of a new sku records an empty shelf.
      if (line && quantity === 0) return none;
      if (!line && state.lines.length >= MAX_LINES) return tooManyLines();
      const total = (line?.quantity ?? 0) + quantity;
      if (total > MAX_COUNTED_QUANTITY) {
        return refuse(
          'line_too_large',
          `That makes ${total} of ${sku}, more than the ${MAX_COUNTED_QUANTITY} a line holds; correct the line's figure instead`,
          'quantity',
        );
      }
      // The event carries the line's new figure, as a recount's does: folding it never adds anything up.
      return ok([{ type: 'QuantityRecorded', data: { sku, quantity: total } }]);
    }
    case 'RemoveLine': {
      if (!isOpen(state)) return notOpen(state, 'change its lines');
      const held = state.lines.some((line) => line.sku === command.sku);
      return held ? ok([{ type: 'LineRemoved', data: { sku: command.sku } }]) : none;
    }
    case 'SubmitCount': {
      if (state.submitted) return none;
      if (!isOpen(state)) return notOpen(state, 'be submitted');
      if (state.lines.length === 0) return refuse('count_empty', 'Count at least one sku before submitting');
      const lines = state.lines.map(({ sku, quantity }) => ({ sku, quantity }));
      return ok([{ type: 'CountSubmitted', data: { lines } }]);
    }
    case 'AbandonCount': {
      if (state.status === 'abandoned') return none;
      // Once submitted the count is the server's to accept or reject; abandoning it then would race that.
      if (!isOpen(state)) return notOpen(state, 'be abandoned');
      return ok([{ type: 'CountAbandoned', data: { reason: command.reason } }]);
    }
    default: {
      const unhandled: never = command;
      return unhandled;
    }
  }
}
