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
  react(reactions: AnyReactions, change: AnyChange, context: EffectContext): readonly Effect[];
  apply(tx: ConsumerTx, effects: readonly Effect[]): Promise<void>;
}

/**
 * Where notifications go. The default writes the `mail` table in the consumer's transaction, so a message
 * exists exactly when its event is in the inbox. A transport that leaves the database (SMTP, a webhook) can
 * only be at most once (send after commit) or at least once (send before): docs/server-outbox.md.
 */
export interface NotificationTransport {
  deliver(tx: ConsumerTx, mail: readonly OutgoingMail[]): Promise<void>;
}

export const mailTableTransport: NotificationTransport = {
  deliver: (tx, mail) => tx.insertMail(mail),
};

export const NOTIFICATIONS = 'notifications';
export const ANALYTICS = 'analytics';

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

export interface OwnedIncrement {
  readonly owner: string;
  readonly increment: CounterIncrement;
}

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
