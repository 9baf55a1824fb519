import type { ClientEventOf } from '../../outbox';
import type { ClientStockCountEvent, CountLine } from '../domain/events';
import { MAX_LINES } from '../domain/fields';
import { isOpen, type StockCountState } from '../domain/stock-count';
import { countIdOf } from '../stream-ids';

/** The first sku whose submitted quantity is not the one the stream recorded, or null when they agree. */
function firstMismatch(recorded: readonly CountLine[], submitted: readonly CountLine[]): string | null {
  const quantities = new Map(recorded.map((line) => [line.sku, line.quantity]));
  for (const line of submitted) {
    const held = quantities.get(line.sku);
    if (held === undefined) return `${line.sku} was never recorded`;
    if (held !== line.quantity) return `${line.sku} is ${line.quantity}, recorded as ${held}`;
  }
  const missing = recorded.find((line) => !submitted.some((candidate) => candidate.sku === line.sku));
  return missing ? `${missing.sku} is left out` : null;
}

/**
 * The rules every server enforces on a stock count's stream, checked against the state the domain's own
 * `evolve` folds from the stored client events: client and server read a stream the same way. Returns why
 * the event breaks a rule, or null when it may be stored.
 */
export function streamRuleBreach(
  state: StockCountState,
  event: ClientEventOf<ClientStockCountEvent>,
): string | null {
  if (state.status === 'none') {
    if (event.type !== 'CountStarted') return `The stream must start with CountStarted, not ${event.type}`;
    if (event.version !== 1) return `CountStarted must be the stream's version 1, not ${event.version}`;
    // UUIDs compare case-insensitively: the stream id and the payload may spell them differently.
    if (event.data.countId.toLowerCase() !== countIdOf(event.streamId).toLowerCase()) {
      return `CountStarted's countId ${event.data.countId} is not the stream's count id`;
    }
    return null;
  }
  switch (event.type) {
    case 'CountStarted':
      return 'The count already exists: a stream has only one CountStarted';
    case 'QuantityRecorded': {
      if (!isOpen(state)) return `Quantities cannot be recorded: the count is ${state.status}`;
      const isNewLine = !state.lines.some((line) => line.sku === event.data.sku);
      return isNewLine && state.lines.length >= MAX_LINES ? `A count holds at most ${MAX_LINES} skus` : null;
    }
    case 'LineRemoved': {
      if (!isOpen(state)) return `Lines cannot be removed: the count is ${state.status}`;
      const held = state.lines.some((line) => line.sku === event.data.sku);
      return held ? null : `The count holds no ${event.data.sku}`;
    }
    case 'CountSubmitted': {
      if (state.submitted) return 'The count is already submitted';
      if (!isOpen(state)) return `The count cannot be submitted: it is ${state.status}`;
      if (state.lines.length === 0) return 'A count needs at least one line to be submitted';
      const mismatch = firstMismatch(state.lines, event.data.lines);
      return mismatch === null ? null : `CountSubmitted does not match the recorded lines: ${mismatch}`;
    }
    case 'CountAbandoned':
      if (state.abandonReason !== null) return 'The count is already abandoned';
      return isOpen(state) ? null : `The count cannot be abandoned: it is ${state.status}`;
    default:
      // Unreachable for checked events; should one slip through, refusing it is the safe answer.
      event satisfies never;
      return 'No rule of this server knows the event type';
  }
}
