import type { AnyStreamReactions } from '../../stream-reactions';
import type { AnyServerStreamType } from '../../stream-type';
import { createStreamTypes, type StreamTypes } from '../../stream-types';

/** The stream types the services know, with their reactions; one list, built once per service process. */
export interface ReactionRegistry {
  readonly streamTypes: StreamTypes<AnyServerStreamType>;
  /** The entry of the stream type of that name; undefined for a type this build does not know. */
  byName(name: string): AnyStreamReactions | undefined;
  readonly all: readonly AnyStreamReactions[];
}

/** Refuses two entries for one stream type, as the stream type registry refuses two types of one name. */
export function createReactionRegistry(list: readonly AnyStreamReactions[]): ReactionRegistry {
  const streamTypes = createStreamTypes(list.map((entry) => entry.type));
  const byName = new Map(list.map((entry) => [entry.type.name, entry] as const));
  return { streamTypes, byName: (name) => byName.get(name), all: list };
}
