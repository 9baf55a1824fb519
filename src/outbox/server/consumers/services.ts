import type { ReactionChange, Reactions } from '../../stream-reactions';
import type { CounterIncrement } from '../../stream-type';
import type { ConsumerTx, OutgoingMail } from './consumer-store';

/** What one event in effect is about, beside its change: who owns its stream. */
export interface EffectContext {
  readonly eventId: string;
  readonly streamId: string;
  readonly owner: string | null;
}

// biome-ignore lint/suspicious/noExplicitAny: a service asks each stream type's reactions with that type's own change.
type AnyReactions = Reactions<any, any, any>;
// biome-ignore lint/suspicious/noExplicitAny: as above.
type AnyChange = ReactionChange<any, any, any>;

/**
 * A consumer service: a durable consumer of the whole outbox stream, named by `name` (its JetStream durable
 * consumer, its inbox), that turns each event into effects through the stream types' reactions and applies
 * them in the transaction that records the event in its inbox.
 */
export interface ConsumerService<Effect> {
  readonly name: string;
  /**
   * The effects of one event, from its stream type's reactions; pure (no IO, no clock), as it runs inside the
   * transaction and again on a retry. Throwing fails this one message: it is retried, then parked.
   */
  react(reactions: AnyReactions, change: AnyChange, context: EffectContext): readonly Effect[];
  /** Writes a batch's effects through `tx`, so they commit with the inbox; a rejection retries the batch. */
  apply(tx: ConsumerTx, effects: readonly Effect[]): Promise<void>;
}

/**
 * Where notifications go. The default writes the `mail` table in the consumer's transaction, so a message
 * exists exactly when its event is in the inbox. A transport that leaves the database (SMTP, a webhook) can
 * only be at most once (send after commit) or at least once (send before): docs/server-outbox.md.
 */
export interface NotificationTransport {
  /** Called inside the consumer's transaction with a non-empty batch; a rejection rolls the batch back. */
  deliver(tx: ConsumerTx, mail: readonly OutgoingMail[]): Promise<void>;
}

/** Each notification as a row of the `mail` table, in the same transaction: exactly once. */
export const mailTableTransport: NotificationTransport = {
  deliver: (tx, mail) => tx.insertMail(mail),
};

/** The notification service's name: its durable consumer, its inbox rows and its parked messages. */
export const NOTIFICATIONS = 'notifications';
/** The analytics service's name: its durable consumer, its inbox rows and its parked messages. */
export const ANALYTICS = 'analytics';

/** Turns each event into the notifications its stream type's `notify` writes, handed to `transport`. */
export function notificationService(
  transport: NotificationTransport = mailTableTransport,
): ConsumerService<OutgoingMail> {
  return {
    name: NOTIFICATIONS,
    react(reactions, change, context) {
      const notification = reactions.notify?.(change) ?? null;
      return notification === null ? [] : [{ ...notification, ...context }];
    },
    apply: (tx, mail) => (mail.length === 0 ? Promise.resolve() : transport.deliver(tx, mail)),
  };
}

/** A counter increment kept under its stream's owner ('' when none), so a summary can be scoped. */
export interface OwnedIncrement {
  readonly owner: string;
  readonly increment: CounterIncrement;
}

/** Adds each event's counter increments (its stream type's `analytics`), in the inbox's transaction. */
export const analyticsService: ConsumerService<OwnedIncrement> = {
  name: ANALYTICS,
  react(reactions, change, context) {
    const owner = context.owner ?? '';
    return (reactions.analytics?.(change) ?? []).map((increment) => ({ owner, increment }));
  },
  apply: (tx, increments) => (increments.length === 0 ? Promise.resolve() : tx.addCounters(increments)),
};

/** The services a server runs (`npm run service -- <name>`), by name. */
export function consumerServices(
  transport: NotificationTransport = mailTableTransport,
): Readonly<Record<string, ConsumerService<unknown>>> {
  return {
    [NOTIFICATIONS]: notificationService(transport) as ConsumerService<unknown>,
    [ANALYTICS]: analyticsService as ConsumerService<unknown>,
  };
}
