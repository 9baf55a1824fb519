import { errorText } from '../relay/log';
import { applyEvents, ReactionFailed } from './apply-events';
import type { ConsumerStore, ParkedMessage } from './consumer-store';
import { decodeDelivery } from './decode';
import type { ReactionRegistry } from './reaction-registry';
import type { ConsumerService } from './services';

/** Why a replay was refused before anything was written. */
export type ReplayRefusal = 'not_parked';

/** A replay the store cannot do as asked: nothing was written. */
export class ReplayRefusedError extends Error {
  constructor(
    readonly code: ReplayRefusal,
    /** The sequences asked for that are not parked. */
    readonly sequences: readonly number[],
    message: string,
  ) {
    super(message);
    this.name = 'ReplayRefusedError';
  }
}

/** What a replay did with one parked message. */
export type ReplayOutcome =
  /** Its effect committed now, with its inbox row, and it left the parked messages in that transaction. */
  | { readonly message: ParkedMessage; readonly outcome: 'applied' }
  /** Its event was in the inbox already (another copy was applied): nothing changed but its parked row. */
  | { readonly message: ParkedMessage; readonly outcome: 'already-applied' }
  /** It failed again: it stays parked, with this reason and one more attempt. */
  | { readonly message: ParkedMessage; readonly outcome: 'still-failing'; readonly reason: string }
  /** Another replay took it meanwhile: nothing written. */
  | { readonly message: ParkedMessage; readonly outcome: 'gone' };

/** What `replayParked` replays: a service's parked messages, every one or those named. */
export interface ReplayOptions<Effect> {
  readonly service: ConsumerService<Effect>;
  readonly registry: ReactionRegistry;
  readonly store: ConsumerStore;
  /** `'all'`, or the sequences (the broker's, as `consumer_parked` lists them) of the messages to replay. */
  readonly selection: 'all' | readonly number[];
}

class AlreadyReplayed extends Error {}

/**
 * Applies parked messages again, in sequence order, each as a delivery would be (decoded, then through the
 * service's inbox, stream states and reactions) in one transaction that also removes it from the parked
 * messages: after fixing what made a message fail, this is how it takes effect. A message already applied
 * (its eventId is in the inbox) changes nothing but leaves the parked messages. One that fails again stays
 * parked with its new reason. Rejects with `ReplayRefusedError`, writing nothing, when a sequence named is
 * not parked. Safe while the service runs: the inbox admits an event once, whoever applies it.
 */
export async function replayParked<Effect>(
  options: ReplayOptions<Effect>,
): Promise<readonly ReplayOutcome[]> {
  const { service, store, selection } = options;
  const messages = await store.parked(service.name, selection);
  if (selection !== 'all') {
    const found = new Set(messages.map((message) => message.sequence));
    const missing = [...new Set(selection)].filter((sequence) => !found.has(sequence));
    if (missing.length > 0) {
      throw new ReplayRefusedError(
        'not_parked',
        missing,
        `${service.name} has no parked message at sequence ${missing.join(', ')}: nothing was replayed`,
      );
    }
  }
  const outcomes: ReplayOutcome[] = [];
  for (const message of messages) outcomes.push(await replayOne(options, message));
  return outcomes;
}

async function replayOne<Effect>(
  { service, registry, store }: ReplayOptions<Effect>,
  message: ParkedMessage,
): Promise<ReplayOutcome> {
  const stillFailing = async (reason: string): Promise<ReplayOutcome> => {
    await store.replayFailed(service.name, message.sequence, reason);
    return { message, outcome: 'still-failing', reason };
  };
  const decoded = decodeDelivery(
    { subject: message.subject, body: message.body, messageId: message.messageId ?? undefined },
    registry,
  );
  if (!decoded.ok) return stillFailing(decoded.reason);
  try {
    const applied = await store.transaction(async (tx) => {
      // Without its number: a parked event's successors went on without it (docs/server-outbox.md, "Order").
      const { applied: count } = await applyEvents(tx, service, registry, [
        { event: decoded.value, owner: message.owner },
      ]);
      if (!(await tx.unpark(service.name, message.sequence))) throw new AlreadyReplayed();
      return count;
    });
    return { message, outcome: applied > 0 ? 'applied' : 'already-applied' };
  } catch (error) {
    if (error instanceof AlreadyReplayed) return { message, outcome: 'gone' };
    if (error instanceof ReactionFailed) return stillFailing(errorText(error));
    throw error;
  }
}
