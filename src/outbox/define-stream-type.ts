import type { DomainCommand, DomainEvent, ServerPolicy, ServerStreamType, StreamType } from './stream-type';
import { checkStreamType } from './stream-type-contract';

/** The stream type with the server's rules and decisions for it: what a server's registry holds. */
export function withServerPolicy<
  Name extends string,
  C extends DomainCommand,
  E extends DomainEvent,
  S extends DomainEvent,
  State,
>(
  type: StreamType<Name, C, E, S, State>,
  server: ServerPolicy<State, E, S>,
): ServerStreamType<Name, C, E, S, State> {
  return { ...type, server };
}

/**
 * Declares a stream type, checked against the contract before anything uses it (`stream-type-contract.ts`):
 * its name, its schemas (variants on `type`), its functions and index specs, `evolve` total over the events
 * it declares, and read models that name only their own tables. A breach throws a `StreamTypeError` naming
 * the stream type and the field, here where it is defined, not at the first command or the first sync.
 */
export function defineStreamType<
  Name extends string,
  C extends DomainCommand,
  E extends DomainEvent,
  S extends DomainEvent,
  State,
>(type: StreamType<Name, C, E, S, State>): StreamType<Name, C, E, S, State> {
  checkStreamType(type);
  return type;
}
