import { errorText } from '../relay/log';
import type { ConsumerTx } from './consumer-store';
import type { ConsumedEvent } from './decode';
import type { ReactionRegistry } from './reaction-registry';
import type { ConsumerService } from './services';

/** An event to apply, with the owner its message carried. */
export interface Applicable {
  readonly event: ConsumedEvent;
  readonly owner: string | null;
  /**
   * Its number in its stream (`OutboxRow.streamSeq`): applied only right after its predecessor. Null or
   * absent: applied whenever it comes (a message published before rows were numbered, a replay).
   */
  readonly streamSeq?: number | null;
}

/** What `applyEvents` did with a batch. */
export interface AppliedEvents<Item extends Applicable> {
  /** Events applied (duplicates and events applied before left out). */
  readonly applied: number;
  /**
   * Events that came before their predecessor was applied: nothing of them was written (not even in the
   * inbox); deliver them again later. Not their fault: no failed attempt.
   */
  readonly early: readonly Item[];
}

/** The reaction to one event threw: that event cannot be applied; the others of its batch can. */
export class ReactionFailed<Item extends Applicable> extends Error {
  constructor(
    readonly item: Item,
    cause: unknown,
  ) {
    super(`The ${item.event.streamType} reaction to ${item.event.event.type} failed: ${errorText(cause)}`, {
      cause,
    });
    this.name = 'ReactionFailed';
  }
}

/**
 * Applies events in `tx`: records their eventIds in the service's inbox, keeps the ones that were new (once
 * each), folds their streams with their type's `evolve` from the state saved, writes the effects their
 * reactions ask for, and saves the states. A numbered event is applied in its stream's order: after the
 * stream's last number applied (saved with its state), and handed back as early when a number between is
 * missing, unless `acceptGap` says the missing ones will not come (one of those that comes later after all is
 * applied then, out of order). The consumer runtime and the replay of parked messages
 * both go through here, so a replay does exactly what a delivery does. Rejects with `ReactionFailed` naming
 * the item whose reaction threw (roll the transaction back).
 */
export async function applyEvents<Effect, Item extends Applicable>(
  tx: ConsumerTx,
  service: ConsumerService<Effect>,
  registry: ReactionRegistry,
  items: readonly Item[],
  acceptGap: (item: Item) => boolean = () => false,
): Promise<AppliedEvents<Item>> {
  if (items.length === 0) return { applied: 0, early: [] };
  const fresh = await tx.admit(
    service.name,
    items.map((item) => item.event.eventId),
  );
  const once = new Set<string>();
  const candidates = items.filter(({ event }) => {
    if (!fresh.has(event.eventId) || once.has(event.eventId)) return false;
    once.add(event.eventId);
    return true;
  });
  const streamIds = [...new Set(candidates.map((item) => item.event.streamId))];
  const lastSeqs = new Map(await tx.streamSeqs(service.name, streamIds));
  // A batch may hold a stream's events out of order (redeliveries among new messages): numbered events are
  // taken by number; across streams, order does not matter.
  const byNumber = [...candidates].sort((a, b) => (a.streamSeq ?? 0) - (b.streamSeq ?? 0));
  const toApply: Item[] = [];
  const early: Item[] = [];
  const waiting = new Set<string>();
  const seqsChanged = new Map<string, number>();
  for (const item of byNumber) {
    const { streamId } = item.event;
    const seq = item.streamSeq ?? null;
    if (seq === null) {
      toApply.push(item);
      continue;
    }
    const last = lastSeqs.get(streamId) ?? 0;
    // New to the inbox yet numbered at or below the last applied: not a copy of an applied event (the inbox
    // keeps an applied event's row while the broker may still deliver a copy), but one whose successors went on
    // without it (a gap accepted, a parked message). Applied late rather than lost.
    if (seq <= last) {
      toApply.push(item);
      continue;
    }
    if (waiting.has(streamId) || (seq > last + 1 && !acceptGap(item))) {
      waiting.add(streamId);
      early.push(item);
      continue;
    }
    lastSeqs.set(streamId, seq);
    seqsChanged.set(streamId, seq);
    toApply.push(item);
  }
  if (early.length > 0) {
    await tx.release(
      service.name,
      early.map((item) => item.event.eventId),
    );
  }
  const states = new Map(
    await tx.states(service.name, [...new Set(toApply.map((item) => item.event.streamId))]),
  );
  const changed = new Map<string, unknown>();
  const effects: Effect[] = [];
  for (const item of toApply) {
    const { event, streamId, streamType, eventId } = item.event;
    const entry = registry.byName(streamType);
    const parsed = registry.streamTypes.parse(streamId);
    if (!entry || !parsed) throw new ReactionFailed(item, new Error('unknown stream type'));
    const before = states.has(streamId) ? states.get(streamId) : entry.type.initialState;
    try {
      const after = entry.type.evolve(before, event);
      effects.push(
        ...service.react(
          entry.reactions,
          { streamId, id: parsed.id, before, after, event },
          { eventId, streamId, owner: item.owner },
        ),
      );
      states.set(streamId, after);
      changed.set(streamId, after);
    } catch (error) {
      throw new ReactionFailed(item, error);
    }
  }
  await service.apply(tx, effects);
  await tx.saveStates(service.name, changed);
  await tx.saveStreamSeqs(service.name, seqsChanged);
  return { applied: toApply.length, early };
}
