import type {
  AnyServerStreamType,
  ClientEventOf,
  CounterIncrement,
  CounterRow,
  DomainCommand,
  DomainEvent,
  ServerEventOf,
  ServerStreamType,
} from './stream-type';

/**
 * What a stream type contributes to the services behind the server's outbox (docs/server-outbox.md): the
 * notification it sends and the analytics facts it counts when one of its events has been accepted or
 * decided on the server. The services fold each stream with the type's own `evolve`, so a reaction sees the
 * stream's state before and after the event, as a read model does; it is pure, and it is asked exactly once
 * per event in effect (the services keep an inbox of the events they applied).
 */
export interface ReactionChange<State, E extends DomainEvent, S extends DomainEvent> {
  readonly streamId: string;
  /** The aggregate's id: the stream id without its type's prefix. */
  readonly id: string;
  readonly before: State;
  readonly after: State;
  readonly event: ClientEventOf<E> | ServerEventOf<S>;
}

/** Who a notification is for: the customer of a stream (an order) or the shop (a location). */
export interface NotificationRecipient {
  readonly role: 'customer' | 'shop';
  /** The customer's name or the shop's location, as the stream holds it. */
  readonly name: string;
}

/** A message composed for a person: the notification service hands it to its transport once. */
export interface Notification {
  readonly recipient: NotificationRecipient;
  readonly subject: string;
  readonly text: string;
}

/** A stream type's reactions: each optional, each pure. */
export interface Reactions<State, E extends DomainEvent, S extends DomainEvent> {
  /** The message a person gets because of this event (a decision, usually); null: none. */
  notify?(change: ReactionChange<State, E, S>): Notification | null;
  /**
   * What the event adds to the analytics counters (rows keyed by what they count: a day, a currency); the
   * service sums them per owner, so `GET /api/analytics/summary` shows each user the streams they own.
   */
  analytics?(change: ReactionChange<State, E, S>): readonly CounterIncrement[];
  /**
   * Figures derived from the summed counter rows, by name (a rate): what the summary adds beside the rows.
   * Pure; `null` where a figure has no value yet (a rate over nothing).
   */
  figures?(tables: Readonly<Record<string, readonly CounterRow[]>>): Readonly<Record<string, number | null>>;
}

/** A stream type with its reactions: one entry of a server's reaction list. */
export interface StreamReactions<
  Name extends string = string,
  C extends DomainCommand = DomainCommand,
  E extends DomainEvent = DomainEvent,
  S extends DomainEvent = DomainEvent,
  State = unknown,
> {
  readonly type: ServerStreamType<Name, C, E, S, State>;
  readonly reactions: Reactions<State, E, S>;
}

/** Any stream type's reactions, with its own types erased: what the services' registry holds. */
export interface AnyStreamReactions {
  readonly type: AnyServerStreamType;
  // biome-ignore lint/suspicious/noExplicitAny: each entry's reactions are used only with its own type's states and events.
  readonly reactions: Reactions<any, any, any>;
}

/** Declares a stream type's reactions; typed by the stream type, so a reaction reads its own events. */
export function defineReactions<
  Name extends string,
  C extends DomainCommand,
  E extends DomainEvent,
  S extends DomainEvent,
  State,
>(
  type: ServerStreamType<Name, C, E, S, State>,
  reactions: Reactions<State, E, S>,
): StreamReactions<Name, C, E, S, State> {
  return { type, reactions };
}
