import type { CountLine, StockCountEvent } from './events';

export type StockCountStatus = 'counting' | 'submitted' | 'accepted' | 'rejected' | 'abandoned';

export interface CountRejection {
  readonly code: string;
  readonly reason: string;
  readonly skus: readonly string[];
}

interface StockCountFacts {
  readonly countId: string;
  readonly location: string;
  /** In the order each sku was first counted, which is the order the person walked the shelf. */
  readonly lines: readonly CountLine[];
  /** Whether a CountSubmitted was folded in; from then on the figures are the server's to judge. */
  readonly submitted: boolean;
  readonly abandonReason: string | null;
  readonly countNumber: string | null;
  readonly acceptedAt: string | null;
  readonly rejection: CountRejection | null;
}

/** The count's state, discriminated by status; `none` before the count is started. */
export type StockCountState =
  | { readonly status: 'none' }
  | (StockCountFacts & { readonly status: StockCountStatus });

export type StartedStockCount = Extract<StockCountState, { readonly countId: string }>;

export const initialStockCountState: StockCountState = { status: 'none' };

/** Only an open count takes lines, a submission or an abandonment. */
export const isOpen = (state: StockCountState): boolean => state.status === 'counting';

/**
 * Which status the facts add up to, whatever order they arrived in, so a client and a server holding the
 * same events agree. A valid stream never holds an abandonment together with a submission or a decision;
 * for one that does, the person's abandonment wins, then a rejection over an acceptance, as for orders.
 */
function statusOf(facts: StockCountFacts): StockCountStatus {
  if (facts.abandonReason !== null) return 'abandoned';
  if (facts.rejection) return 'rejected';
  if (facts.countNumber !== null) return 'accepted';
  return facts.submitted ? 'submitted' : 'counting';
}

function withQuantity(lines: readonly CountLine[], recorded: CountLine): readonly CountLine[] {
  const held = lines.some((line) => line.sku === recorded.sku);
  if (!held) return [...lines, { sku: recorded.sku, quantity: recorded.quantity }];
  return lines.map((line) => (line.sku === recorded.sku ? { ...line, quantity: recorded.quantity } : line));
}

/**
 * Pure and total: any event on any state yields a state, so replays, discards and late server events never
 * throw. Events that a valid stream would not hold at that point still fold as facts; the server's rules
 * and `decide` keep them out of real streams.
 */
export function evolve(state: StockCountState, event: StockCountEvent): StockCountState {
  if (state.status === 'none') {
    if (event.type !== 'CountStarted') return state;
    return {
      status: 'counting',
      countId: event.data.countId,
      location: event.data.location,
      lines: [],
      submitted: false,
      abandonReason: null,
      countNumber: null,
      acceptedAt: null,
      rejection: null,
    };
  }
  const next = (facts: StockCountFacts): StockCountState => ({ ...facts, status: statusOf(facts) });
  switch (event.type) {
    case 'CountStarted':
      return state;
    case 'QuantityRecorded':
      return next({ ...state, lines: withQuantity(state.lines, event.data) });
    case 'LineRemoved':
      return next({ ...state, lines: state.lines.filter((line) => line.sku !== event.data.sku) });
    case 'CountSubmitted':
      return next({ ...state, submitted: true });
    case 'CountAbandoned':
      return next({ ...state, abandonReason: event.data.reason });
    case 'CountAccepted':
      return next({ ...state, countNumber: event.data.countNumber, acceptedAt: event.data.acceptedAt });
    case 'CountRejected': {
      const { code, reason, skus } = event.data;
      return next({ ...state, rejection: { code, reason, skus } });
    }
    default:
      // Unreachable for checked events; at run time a type only a newer peer knows leaves the state as it is.
      event satisfies never;
      return state;
  }
}

export const foldStockCount = (
  events: Iterable<StockCountEvent>,
  from: StockCountState = initialStockCountState,
): StockCountState => {
  let state = from;
  for (const event of events) state = evolve(state, event);
  return state;
};

/** The units counted over every line: a quick figure for the list, not a stock value. */
export const unitsCounted = (lines: readonly CountLine[]): number =>
  lines.reduce((sum, line) => sum + line.quantity, 0);
