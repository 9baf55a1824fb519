import { errorText } from '../relay/log';
import type { ConsumerTx } from './consumer-store';
import type { ConsumedEvent } from './decode';
import type { ReactionRegistry } from './reaction-registry';
import type { ConsumerService } from './services';

/** An event to apply, with the owner its message carried. */
export interface Applicable {
  readonly event: ConsumedEvent;
  readonly owner: string | null;
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
 * reactions ask for, and saves the states. The consumer runtime and the replay of parked messages both go
 * through here, so a replay does exactly what a delivery does. Resolves with the events applied (duplicates
 * left out); rejects with `ReactionFailed` naming the item whose reaction threw (roll the transaction back).
 */
export async function applyEvents<Effect, Item extends Applicable>(
  tx: ConsumerTx,
  service: ConsumerService<Effect>,
  registry: ReactionRegistry,
  items: readonly Item[],
): Promise<number> {
  if (items.length === 0) return 0;
  const fresh = await tx.admit(
    service.name,
    items.map((item) => item.event.eventId),
  );
  const once = new Set<string>();
  const toApply = items.filter(({ event }) => {
    if (!fresh.has(event.eventId) || once.has(event.eventId)) return false;
    once.add(event.eventId);
    return true;
  });
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
  return toApply.length;
}
