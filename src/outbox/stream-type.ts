import type * as v from 'valibot';
import type { Result } from './result';

/**
 * A stream type is what a developer plugs into the outbox: one kind of event-sourced aggregate (an order, a
 * stock count), described as a value. The core never names one; the app, the worker, the mock and the
 * reference server are each composed from the same list of them (`streamTypes`).
 *
 *   commands ──decide(command, state)──► events ──evolve──► state
 *                                          │
 *                     read models ◄────────┤ (folded in the command's transaction, and in the answer's)
 *                                          ▼
 *                     outbox ──push──► server: rules, then decisions (server events) ──► back by push/pull
 *
 * Stream ids are `<name>-<uuid>`: the type's name, then the aggregate's id.
 */

/** An event as a domain decides it: a type and its payload, both checked by the stream type's schemas. */
export interface DomainEvent {
  readonly type: string;
  readonly data: unknown;
}

/** A command as a domain receives it: discriminated by `type`. */
export interface DomainCommand {
  readonly type: string;
}

/** Why an aggregate refused a command. Codes are stable: the UI and tests match on them. */
export class DomainError<Code extends string = string> extends Error {
  constructor(
    readonly code: Code,
    message: string,
    /** The command field the refusal is about, so a form can show it next to that field. */
    readonly field?: string,
  ) {
    super(message);
    this.name = 'DomainError';
  }
}

/** An event's envelope, whichever side wrote it: what the read models and the server rules may look at. */
export interface EventEnvelope {
  readonly eventId: string;
  readonly streamId: string;
  readonly occurredAt: string;
}

/** A client-written event as it stands in the event store and on the wire: versioned in its stream. */
export type ClientEventOf<E extends DomainEvent> = E &
  EventEnvelope & {
    readonly kind: 'client';
    readonly version: number;
  };

/** A server decision as the client stores it: numbered across the whole server. */
export type ServerEventOf<S extends DomainEvent> = S &
  EventEnvelope & {
    readonly kind: 'server';
    readonly serverSeq: number;
  };

/**
 * What one step did to one stream, for its read models: the state before and after, the event that made
 * the difference (null for a discard on this device, which folds the stream again without some of its
 * events), and the times the stream was created and last changed (event times, never the clock: a rebuild
 * must produce the same rows). The core hands read models one step at a time, whether it stores one
 * event or replays a thousand, so the rows never depend on how events were batched.
 */
export interface StreamChange<State, E extends DomainEvent, S extends DomainEvent> {
  readonly streamId: string;
  /** The aggregate's id: the stream id without its type's prefix. */
  readonly id: string;
  readonly before: State;
  readonly after: State;
  readonly event: ClientEventOf<E> | ServerEventOf<S> | null;
  /** The stream's client version after the step. */
  readonly version: number;
  readonly createdAt: string;
  readonly updatedAt: string;
}

/** A row of a read-model table: keyed by the aggregate's id (`id`), the rest the stream type's own. */
export interface ReadModelRow {
  readonly id: string;
}

/** A change's rows by table: a row to put, null to delete it, absent to leave it. */
export type ReadModelRows = { readonly [table: string]: ReadModelRow | null | undefined };

/**
 * What one step adds to a counter row: a row shared by every stream, keyed by what it counts (a day, a
 * currency, a status), whose numeric fields are the sums of what every step added. A sum does not depend on
 * the order in which steps of different streams arrive, so a command group, a server's answer and each page
 * of a rebuild all leave the same rows, and a step costs a read and a write of the rows it names, however
 * long the history.
 */
export interface CounterIncrement {
  readonly table: string;
  /** The row's key: what it counts (`2026-11-26`, `EUR`, `status:placed`). */
  readonly id: string;
  /** Added to the row's fields; a field the row does not have yet starts at 0. */
  readonly add: Readonly<Record<string, number>>;
}

/** A counter row as stored: its key and its sums. */
export type CounterRow = ReadModelRow & { readonly [field: string]: number | string };

/**
 * A stream type's read models: tables of its own, one row per stream in each, written from the stream's
 * state after every change, and optionally counter rows summed across streams. Pure, and derived from each
 * step alone, so the core can fold them inside the transaction that writes the events (or applies the
 * server's answer) and a rebuild reproduces them.
 *
 * `tables` are index specs in Dexie's notation with `id` first (`'&id, status, updatedAt'`); table names
 * must be unique across every stream type of the app. A counter table is one of them, written only through
 * `counters`.
 */
export interface ReadModels<State, E extends DomainEvent, S extends DomainEvent> {
  readonly tables: Readonly<Record<string, string>>;
  /**
   * Each table's row for the stream after the step; null removes it, an absent table keeps its row. Called
   * once per step in order; when a transaction holds several, the last row of each table is written.
   */
  rows(change: StreamChange<State, E, S>): ReadModelRows;
  /**
   * What the step adds to counter rows (none: nothing). Called once per step, like `rows`; the core reads
   * each named row in the same transaction, adds, and writes it back.
   */
  counters?(change: StreamChange<State, E, S>): readonly CounterIncrement[];
}

/** What the server knows when it decides: its clock and the number its next server event will get. */
export interface ServerDecisionContext {
  readonly now: number;
  readonly nextServerSeq: number;
}

/**
 * A stream type's rules on the server (protocol v1: "rules a server enforces on each stream") and the
 * decisions the server appends when it accepts an event (an order's confirmation).
 */
export interface ServerPolicy<State, E extends DomainEvent, S extends DomainEvent> {
  /** Why storing `event` on a stream in `state` breaks a rule (`rejected`, code `invalid`); null to store. */
  breach(state: State, event: ClientEventOf<E>): string | null;
  /**
   * The server events to append once `event` is stored, decided on the state before it; at most one that
   * takes `context.nextServerSeq` (each later one gets the next number).
   */
  decide(before: State, event: ClientEventOf<E>, context: ServerDecisionContext): readonly S[];
}

/**
 * One stream type. `C`, `E` and `S` come from the schemas, so the type and its runtime check never part.
 */
export interface StreamType<
  Name extends string = string,
  C extends DomainCommand = DomainCommand,
  E extends DomainEvent = DomainEvent,
  S extends DomainEvent = DomainEvent,
  State = unknown,
> {
  /** The stream ids' prefix (`order` → `order-<uuid>`): letters and digits, starting with a letter. */
  readonly name: Name;
  /** Every command of the type: a valibot schema giving the type and the field-level check. */
  readonly commands: v.GenericSchema<unknown, C>;
  /** The id (a UUID) of the aggregate a command addresses. */
  readonly idOf: (command: C) => string;
  /** The events clients write, `{ type, data }`. */
  readonly events: v.GenericSchema<unknown, E>;
  /** The events only the server writes, `{ type, data }`. */
  readonly serverEvents: v.GenericSchema<unknown, S>;
  readonly initialState: State;
  /** Pure: no clock, ids or IO. An already satisfied command decides no events. */
  readonly decide: (command: C, state: State) => Result<readonly E[], DomainError>;
  /** Pure and total: any event on any state yields a state, so late server events never throw. */
  readonly evolve: (state: State, event: E | S) => State;
  readonly readModels: ReadModels<State, E, S>;
  /** How its streams may leave the device once settled (`client/retention.ts`); absent: they never do. */
  readonly retention?: Retention<State>;
}

/**
 * When a stream of the type may be archived, and which of its counter contributions outlive it. Archiving
 * removes a stream's events, snapshot and read-model rows from the device once the server has every one of
 * them and nothing more can happen to it; the counter rows it added either stay (a total of history: orders
 * confirmed per day, revenue) or are taken back with it (a count of what the device lists).
 */
export interface Retention<State> {
  /** Pure: nothing more will happen to a stream in this state (an order decided, a count accepted). */
  settled(state: State): boolean;
  /** Pure: whether this contribution to a counter row stays once the stream that made it is archived. */
  keepsCounter(increment: CounterIncrement): boolean;
}

/**
 * A stream type as a server serves it: with its rules and its decisions. Apart from the stream type itself so
 * clients never ship the server's rules or its data (a stock count's expected stock), and the service
 * worker stays small; a server composition root adds them (`withServerPolicy`).
 */
export interface ServerStreamType<
  Name extends string = string,
  C extends DomainCommand = DomainCommand,
  E extends DomainEvent = DomainEvent,
  S extends DomainEvent = DomainEvent,
  State = unknown,
> extends StreamType<Name, C, E, S, State> {
  readonly server: ServerPolicy<State, E, S>;
}

/** Any stream type, with its own types erased: what the core holds in its registry. */
// biome-ignore lint/suspicious/noExplicitAny: the registry holds stream types of every shape; each is used only through its own schemas.
export type AnyStreamType = StreamType<string, any, any, any, any>;
/** Any stream type a server serves, with its own types erased. */
// biome-ignore lint/suspicious/noExplicitAny: as AnyStreamType.
export type AnyServerStreamType = ServerStreamType<string, any, any, any, any>;
