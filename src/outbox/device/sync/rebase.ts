import type { IdGenerator } from '../../ids';
import type { RefusalCause, RefusalFacts, StoredClientEvent, StoredServerEvent } from '../../storage/rows';
import type { AnyStreamType, DomainCommand, DomainError } from '../../stream-type';

/**
 * Deciding again (Replicache's rebase, with the stream type's own decider): this device's commands that
 * waited to be sent meet events another device stored on the same stream first. Each command is decided
 * again, in its original order, on the stream as the server now holds it, each on the state the previous
 * ones left. A command that still holds writes its events anew, with new eventIds at the next versions (the
 * old ones are never sent again: the server may not hold them, and must never hold two events under one
 * eventId); one that no longer holds is refused, its effect taken back, and the refusal says what happened
 * and where. Pure: the caller reads and writes the records around it, in one transaction.
 *
 *   server's stream (kept + arrived) ──► decide(command 1) ──► decide(command 2) ──► …
 *                                           │ holds: new events     │ no longer holds: refusal
 */

/** A command whose events this device has not delivered. */
export interface PendingCommand {
  readonly commandId: string;
  /** The command as stored with its events (`commands` table), parsed; null when none was stored. */
  readonly command: DomainCommand | null;
  /** Its undelivered events, ascending version: their metadata (times, correlation) carries over. */
  readonly events: readonly StoredClientEvent[];
  /** Some of its events already reached the server: it cannot be decided again whole. */
  readonly partlyDelivered: boolean;
}

export interface RebaseInput {
  readonly type: AnyStreamType;
  /** The stream as this device held it without its unsent events: delivered, decided, other devices'. */
  readonly kept: unknown;
  /** The events another device stored (and the server's decisions) that arrived now, in order. */
  readonly arrived: readonly (StoredClientEvent | StoredServerEvent)[];
  /** The stream's last version the server holds, arrived events included. */
  readonly version: number;
  readonly pending: readonly PendingCommand[];
  readonly ids: IdGenerator;
}

export interface RebasedCommand {
  readonly commandId: string;
  /** The events it writes now (none: already satisfied, or refused). */
  readonly events: readonly StoredClientEvent[];
  /** Set when it no longer holds. */
  readonly refused: RefusalFacts | null;
}

export interface RebasePlan {
  /** Every new event, in order: versions follow the server's last. */
  readonly events: readonly StoredClientEvent[];
  readonly commands: readonly RebasedCommand[];
}

/** Core refusals, when the stream type's decider cannot be asked. */
export const NOT_REDECIDABLE = 'not_redecidable';
export const PARTLY_DELIVERED = 'partly_delivered';

const fold = (type: AnyStreamType, state: unknown, events: readonly { type: string }[]): unknown =>
  events.reduce((current, event) => type.evolve(current, event), state);

/** The arrived event after which `command` first stopped holding, among those it was decided before. */
function causeOf(
  input: RebaseInput,
  command: PendingCommand,
  before: readonly StoredClientEvent[],
): RefusalCause | null {
  const { type, arrived } = input;
  if (command.command === null) return describeCause(arrived[0]);
  let state = input.kept;
  for (const event of arrived) {
    state = type.evolve(state, event);
    // As the command was first decided: after the commands before it, as they were then.
    const decision = type.decide(command.command, fold(type, state, before));
    if (!decision.ok) return describeCause(event);
  }
  return describeCause(arrived.at(-1));
}

function describeCause(event: StoredClientEvent | StoredServerEvent | undefined): RefusalCause | null {
  if (!event) return null;
  return {
    eventId: event.eventId,
    kind: event.kind,
    type: event.type,
    data: event.data,
    clientId: event.kind === 'client' ? event.metadata.clientId : null,
    occurredAt: event.occurredAt,
  };
}

function refusal(
  command: PendingCommand,
  code: string,
  message: string,
  cause: RefusalCause | null,
): RefusalFacts {
  return {
    commandId: command.commandId,
    command: command.command,
    events: command.events.map((event) => ({ type: event.type, data: event.data, version: event.version })),
    code,
    message,
    cause,
  };
}

export function rebase(input: RebaseInput): RebasePlan {
  const { type, ids } = input;
  let state = fold(type, input.kept, input.arrived);
  let version = input.version;
  const written: StoredClientEvent[] = [];
  const commands: RebasedCommand[] = [];
  // What the commands before this one wrote as first decided: a refusal's cause is found on that footing.
  const firstDecided: StoredClientEvent[] = [];
  for (const pending of input.pending) {
    const refuse = (code: string, message: string): void => {
      commands.push({
        commandId: pending.commandId,
        events: [],
        refused: refusal(pending, code, message, causeOf(input, pending, firstDecided)),
      });
    };
    if (pending.partlyDelivered) {
      refuse(
        PARTLY_DELIVERED,
        'Part of this change reached the server before another device changed the same record; the rest was not applied',
      );
    } else if (pending.command === null) {
      refuse(
        NOT_REDECIDABLE,
        'This change was saved by an earlier version of the app and cannot be checked again',
      );
    } else {
      const decision = type.decide(pending.command, state);
      if (!decision.ok) {
        const error: DomainError = decision.error;
        refuse(error.code, error.message);
      } else {
        const [first] = pending.events;
        const events = decision.value.map((event, offset): StoredClientEvent => {
          const source = pending.events[offset] ?? first;
          if (!source) throw new Error(`Command ${pending.commandId} has no events to decide again`);
          return {
            kind: 'client',
            eventId: ids(),
            streamId: source.streamId,
            version: version + offset + 1,
            type: event.type,
            schemaVersion: 1,
            data: event.data,
            // The person did it when they did: the time, the correlation and the device stay.
            metadata: source.metadata,
            occurredAt: source.occurredAt,
          };
        });
        state = fold(type, state, events);
        version += events.length;
        written.push(...events);
        commands.push({ commandId: pending.commandId, events, refused: null });
      }
    }
    firstDecided.push(...pending.events);
  }
  return { events: written, commands };
}
