import * as v from 'valibot';
import {
  type ClientEventOf,
  createStreamTypes,
  DomainError,
  defineStreamType,
  err,
  ok,
  type ServerDecisionContext,
  UuidSchema,
  withServerPolicy,
} from '../../../src/outbox';

/**
 * A stream type that exists only for the core's own suite: a tally someone opens, adds amounts to and
 * closes; the server approves a closed tally up to a limit and refuses one over it. Small on purpose, and
 * nothing like an order, so the suite proves the core needs no order code.
 */

export const TALLY_LIMIT = 1_000;

const Amount = v.pipe(v.number(), v.integer('Amount must be a whole number'), v.minValue(1), v.maxValue(100));
const Label = v.pipe(v.string(), v.minLength(1, 'Label is required'), v.maxLength(40));

const Commands = v.variant('type', [
  v.strictObject({ type: v.literal('OpenTally'), tallyId: UuidSchema, label: Label }),
  v.strictObject({ type: v.literal('AddToTally'), tallyId: UuidSchema, amount: Amount }),
  v.strictObject({ type: v.literal('CloseTally'), tallyId: UuidSchema }),
]);
type TallyCommand = v.InferOutput<typeof Commands>;

const Events = v.variant('type', [
  v.strictObject({ type: v.literal('TallyOpened'), data: v.strictObject({ label: Label }) }),
  v.strictObject({ type: v.literal('Added'), data: v.strictObject({ amount: Amount }) }),
  v.strictObject({ type: v.literal('TallyClosed'), data: v.strictObject({ total: v.number() }) }),
]);
type TallyEvent = v.InferOutput<typeof Events>;

const ServerEvents = v.variant('type', [
  v.strictObject({ type: v.literal('TallyApproved'), data: v.strictObject({ approval: v.string() }) }),
  v.strictObject({ type: v.literal('TallyRefused'), data: v.strictObject({ reason: v.string() }) }),
]);
type TallyDecision = v.InferOutput<typeof ServerEvents>;

export type TallyState =
  | { readonly status: 'none' }
  | {
      readonly status: 'open' | 'closed' | 'approved' | 'refused';
      readonly label: string;
      readonly total: number;
      readonly approval: string | null;
    };

const initialState: TallyState = { status: 'none' };

function evolve(state: TallyState, event: TallyEvent | TallyDecision): TallyState {
  if (event.type === 'TallyOpened') {
    return state.status === 'none'
      ? { status: 'open', label: event.data.label, total: 0, approval: null }
      : state;
  }
  if (state.status === 'none') return state;
  switch (event.type) {
    case 'Added':
      return { ...state, total: state.total + event.data.amount };
    case 'TallyClosed':
      return { ...state, status: 'closed' };
    case 'TallyApproved':
      return { ...state, status: 'approved', approval: event.data.approval };
    case 'TallyRefused':
      return { ...state, status: 'refused' };
    default:
      return state;
  }
}

function decide(command: TallyCommand, state: TallyState) {
  switch (command.type) {
    case 'OpenTally':
      return ok(
        state.status === 'none' ? [{ type: 'TallyOpened' as const, data: { label: command.label } }] : [],
      );
    case 'AddToTally':
      if (state.status !== 'open') return err(new DomainError('tally_not_open', 'The tally is not open'));
      return ok([{ type: 'Added' as const, data: { amount: command.amount } }]);
    case 'CloseTally':
      if (state.status === 'none') return err(new DomainError('tally_not_open', 'The tally is not open'));
      return ok(
        state.status === 'open' ? [{ type: 'TallyClosed' as const, data: { total: state.total } }] : [],
      );
    default:
      return ok([]);
  }
}

export interface TallyRow {
  readonly id: string;
  readonly label: string;
  readonly status: string;
  readonly total: number;
  readonly approval: string | null;
  readonly version: number;
  readonly updatedAt: string;
}

export const tally = defineStreamType({
  name: 'tally',
  commands: Commands,
  idOf: (command: TallyCommand) => command.tallyId,
  events: Events,
  serverEvents: ServerEvents,
  initialState,
  decide,
  evolve,
  readModels: {
    tables: { tallies: '&id, status' },
    rows(change) {
      const { after, id } = change;
      if (after.status === 'none') return {};
      const row: TallyRow = {
        id,
        label: after.label,
        status: after.status,
        total: after.total,
        approval: after.approval,
        version: change.version,
        updatedAt: change.updatedAt,
      };
      return { tallies: row };
    },
  },
});

/** The tally as the core's server serves it: only a closed tally up to the limit is approved. */
export const tallyOnServer = withServerPolicy(tally, {
  breach(state: TallyState, event: ClientEventOf<TallyEvent>) {
    if (event.type === 'TallyOpened') return state.status === 'none' ? null : 'tally already open';
    if (state.status !== 'open') return 'tally not open';
    if (event.type === 'TallyClosed' && event.data.total !== state.total) return 'total does not add up';
    return null;
  },
  decide(
    before: TallyState,
    event: ClientEventOf<TallyEvent>,
    context: ServerDecisionContext,
  ): TallyDecision[] {
    if (event.type !== 'TallyClosed' || before.status !== 'open') return [];
    return before.total <= TALLY_LIMIT
      ? [{ type: 'TallyApproved' as const, data: { approval: `T-${context.nextServerSeq}` } }]
      : [{ type: 'TallyRefused' as const, data: { reason: `over ${TALLY_LIMIT}` } }];
  },
});

export const tallyTypes = createStreamTypes([tally]);
export const tallyServerTypes = createStreamTypes([tallyOnServer]);
