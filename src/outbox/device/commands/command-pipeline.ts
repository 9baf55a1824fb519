import * as v from 'valibot';
import { UuidSchema } from '../../fields';
import type { Clock, IdGenerator } from '../../ids';
import type { EventMetadata } from '../../protocol/messages';
import { err, ok, type Result } from '../../result';
import type { CommandRow, StoredClientEvent, StoredEvent } from '../../storage/rows';
import type { AnyStreamType, DomainCommand } from '../../stream-type';
import { type StreamTypes, streamIdFor } from '../../stream-types';
import { type FieldIssue, ValidationError, validate } from '../../validation';
import type { EventBus } from '../event-bus';
import type { CommandStorage } from '../outbox-storage';
import type { StoredForGroup } from './append-commands';
import type { CommittedStream } from './committed-stream';
import {
  type CommandError,
  CommandIdReusedError,
  StreamArchivedError,
  StreamDiscardedError,
  StreamNeedsUpdateError,
  toStorageError,
} from './errors';

/**
 * The one way a command gets in: `execute`. Commands that arrive while a transaction is being prepared share
 * the next one: a transaction costs the same few milliseconds whether it stores one command or a thousand
 * (docs/performance.md), so overlapping commands go several times faster, while each stays atomic on its
 * own and each stream keeps its order.
 *
 *   execute ──► boundary check ──► queue ──► group (every command queued in the same task, up to maxGroupSize)
 *                (ValidationError,              │
 *                 nothing queued)               ▼
 *            appendCommands: ONE rw transaction: read the streams, their outbox rows and the commandIds
 *                           already handled ─► decide each command in arrival order against the state the
 *                           previous ones left (pure, nothing foreign awaited) ─► write events, outbox rows,
 *                           command rows, snapshots, read models and delivery facts
 *                                               │ commit (strict: on disk)
 *                                               ▼
 *                           answers, then the bus and the open views hear of the events
 *
 * A command the aggregate refuses is left out of its group and gets its own error. If the transaction
 * fails (a quota error, a fault while writing), nothing of the group was written and each command is tried
 * again on its own, so one bad command cannot sink the others. Deciding inside the write transaction means
 * no other writer can come between a decision and its write: IndexedDB runs rw transactions on the same
 * tables one after another.
 */
export interface CommandPipelineDeps {
  /** The storage port's command part (`commandStorage(database)`); a test may hand it a fake. */
  readonly storage: CommandStorage;
  readonly clock: Clock;
  readonly ids: IdGenerator;
  readonly clientId: string;
  readonly bus: EventBus;
  /**
   * Told, once a group's transaction committed, what it left of each stream it wrote: a page's open views of
   * those streams show the rows at once (`page/committed-views.ts`).
   */
  readonly onCommitted?: (stream: CommittedStream) => void;
  /** The largest group one transaction takes; later arrivals form the next group. 1,000 by default. */
  readonly maxGroupSize?: number;
  readonly faults?: CommandPipelineFaults;
}

export interface CommandPipelineFaults {
  /**
   * Runs inside a group's transaction once per written command, after every row was queued for writing and
   * before commit. Tests throw here to prove a failure leaves nothing behind.
   */
  readonly whileWriting?: (commandId: string) => void;
}

export interface CommandRequest {
  /** Checked at runtime against the stream types' command schemas: anything may come in from a form. */
  readonly command: unknown;
  /** The idempotency key: give the same id when repeating an action (a double click, a resend). */
  readonly commandId?: string;
  readonly correlationId?: string;
  readonly causationId?: string | null;
}

export interface CommandOutcome {
  readonly commandId: string;
  /** The stream type's name (`order`) and the aggregate's id: the stream is `<streamType>-<id>`. */
  readonly streamType: string;
  readonly id: string;
  readonly streamId: string;
  /** The stream's version after the command. */
  readonly version: number;
  /** The events the command wrote; empty when it was already satisfied. */
  readonly events: readonly StoredClientEvent[];
  /** True when this commandId was handled before: nothing was written and this is the first answer. */
  readonly duplicate: boolean;
}

export type CommandResult = Result<CommandOutcome, CommandError>;

export interface CommandPipeline {
  /**
   * Validates, decides and writes a command durably. Resolves after the commit, never rejects: every failure
   * is a typed CommandError and means nothing of this command was written.
   */
  execute(request: CommandRequest): Promise<CommandResult>;
}

const RequestIdsSchema = v.object({
  commandId: v.optional(UuidSchema),
  correlationId: v.optional(UuidSchema),
  causationId: v.optional(v.nullable(UuidSchema)),
});

/** A command request that passed the boundary check, with its stream type found and its ids settled. */
export interface ParsedRequest {
  readonly type: AnyStreamType;
  readonly command: DomainCommand;
  /** The command as canonical JSON: a repeated commandId must carry the same one. */
  readonly fingerprint: string;
  readonly id: string;
  readonly streamId: string;
  readonly commandId: string;
  readonly correlationId: string;
  readonly causationId: string | null;
}

/** Keys sorted at every level, so two spellings of the same command compare equal. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, nested: unknown) =>
    nested && typeof nested === 'object' && !Array.isArray(nested)
      ? Object.fromEntries(Object.entries(nested).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : nested,
  );
}

/**
 * The boundary check: the command against its stream type's schema (found by the command's `type`) and the
 * optional ids, all issues reported together; the commandId defaults to a fresh id, the correlationId to it.
 */
export function parseRequest(
  types: StreamTypes,
  request: CommandRequest,
  ids: IdGenerator,
): Result<ParsedRequest, ValidationError> {
  const issues: FieldIssue[] = [];
  const raw = request.command as { readonly type?: unknown } | null | undefined;
  const type = types.byCommandType(typeof raw === 'object' && raw !== null ? raw.type : undefined);
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    issues.push({ path: '', message: 'Unknown command type: a command is an object with a "type"' });
  } else if (!type) {
    issues.push({ path: 'type', message: `Unknown command type ${JSON.stringify(raw.type)}` });
  }
  const command = type ? validate(type.commands, request.command) : null;
  if (command && !command.ok) issues.push(...command.error.issues);
  const meta = validate(RequestIdsSchema, {
    commandId: request.commandId,
    correlationId: request.correlationId,
    causationId: request.causationId,
  });
  if (!meta.ok) issues.push(...meta.error.issues);
  if (!type || !command?.ok || !meta.ok) return err(new ValidationError(issues));
  const commandId = meta.value.commandId ?? ids();
  const id = type.idOf(command.value);
  return ok({
    type,
    command: command.value as DomainCommand,
    fingerprint: canonical(command.value),
    id,
    streamId: streamIdFor(type.name, id),
    commandId,
    correlationId: meta.value.correlationId ?? commandId,
    causationId: meta.value.causationId ?? null,
  });
}

/** Where a stream stands while its group is decided: the state the earlier commands of the group left. */
interface StreamCursor {
  state: unknown;
  version: number;
  readonly discardedFromVersion: number | undefined;
  readonly archived: boolean;
  /** Events a newer device wrote that this build cannot read: the stream waits for an update. */
  readonly unread: number;
  readonly type: AnyStreamType;
}

type Planned =
  | { readonly kind: 'write'; readonly outcome: CommandOutcome }
  | { readonly kind: 'refused'; readonly error: CommandError }
  | { readonly kind: 'handled'; readonly row: CommandRow }
  | { readonly kind: 'same-as'; readonly first: number };

interface GroupWritten {
  readonly results: CommandResult[];
  /** What the group left of each stream it wrote, to announce once the transaction committed. */
  readonly committed: readonly CommittedStream[];
}

/** Step 1: the snapshot of each stream (folded from its events for one without a row: an old database). */
function readCursors(group: readonly ParsedRequest[], stored: StoredForGroup): Map<string, StreamCursor> {
  const typeOf = new Map(group.map((request) => [request.streamId, request.type] as const));
  const cursors = new Map<string, StreamCursor>();
  for (const [streamId, row] of stored.streams) {
    const type = typeOf.get(streamId) as AnyStreamType;
    if (row) {
      cursors.set(streamId, {
        state: row.state,
        version: row.version,
        discardedFromVersion: row.discardedFromVersion,
        archived: false,
        unread: row.unread ?? 0,
        type,
      });
      continue;
    }
    let state: unknown = type.initialState;
    let version = 0;
    const events = [...(stored.unsnapshotted.get(streamId) ?? [])].sort(
      (a, b) => (a.position ?? 0) - (b.position ?? 0),
    );
    let unread = 0;
    for (const event of events) {
      if (event.kind === 'local') continue;
      if (event.kind === 'unread') {
        unread += 1;
        version = Math.max(version, event.version ?? 0);
        continue;
      }
      state = type.evolve(state, event);
      if (event.kind === 'client') version = Math.max(version, event.version);
    }
    const archived = stored.archived.has(streamId);
    cursors.set(streamId, { state, version, discardedFromVersion: undefined, archived, unread, type });
  }
  return cursors;
}

/**
 * Step 2: each command decided in arrival order, each against the state the previous ones of the group
 * left. Pure and synchronous, so the transaction never waits on anything foreign.
 */
function decideGroup(
  deps: CommandPipelineDeps,
  group: readonly ParsedRequest[],
  cursors: ReadonlyMap<string, StreamCursor>,
  handled: ReadonlyMap<string, CommandRow>,
  occurredAt: string,
): { planned: Planned[]; fresh: StoredClientEvent[] } {
  const firstOf = new Map<string, number>();
  const fresh: StoredClientEvent[] = [];
  const planned = group.map((request, index): Planned => {
    const { type, command, streamId, commandId, correlationId, causationId } = request;
    const handledRow = handled.get(commandId);
    if (handledRow) {
      // A commandId names one command: the same id with a different one is a client defect, never a repeat.
      if (handledRow.command !== undefined && handledRow.command !== request.fingerprint) {
        return { kind: 'refused', error: new CommandIdReusedError(commandId) };
      }
      return { kind: 'handled', row: handledRow };
    }
    const first = firstOf.get(commandId);
    if (first !== undefined) {
      return group[first]?.fingerprint === request.fingerprint
        ? { kind: 'same-as', first }
        : { kind: 'refused', error: new CommandIdReusedError(commandId) };
    }
    firstOf.set(commandId, index);
    const cursor = cursors.get(streamId);
    if (!cursor) throw new Error(`No snapshot read for ${streamId}`);
    if (cursor.archived) return { kind: 'refused', error: new StreamArchivedError(streamId) };
    if (cursor.unread > 0) return { kind: 'refused', error: new StreamNeedsUpdateError(streamId) };
    if (cursor.discardedFromVersion !== undefined) {
      return { kind: 'refused', error: new StreamDiscardedError(streamId, cursor.discardedFromVersion) };
    }
    const decision = type.decide(command, cursor.state);
    if (!decision.ok) return { kind: 'refused', error: decision.error };
    const metadata: EventMetadata = {
      commandId,
      correlationId,
      causationId,
      occurredAt,
      clientId: deps.clientId,
    };
    const events = decision.value.map(
      (event, offset): StoredClientEvent => ({
        kind: 'client',
        eventId: deps.ids(),
        streamId,
        version: cursor.version + offset + 1,
        type: event.type,
        schemaVersion: 1,
        data: event.data,
        metadata,
        occurredAt,
      }),
    );
    for (const event of events) cursor.state = type.evolve(cursor.state, event);
    cursor.version += events.length;
    fresh.push(...events);
    return {
      kind: 'write',
      outcome: {
        commandId,
        streamType: type.name,
        id: request.id,
        streamId,
        version: cursor.version,
        events,
        duplicate: false,
      },
    };
  });
  return { planned, fresh };
}

/**
 * Writes one group in one transaction (`appendCommands`): the stored rows are read, the group decided on
 * them (steps 1 and 2) and its rows written (step 3), or nothing is; throws if the transaction fails.
 */
async function writeGroup(deps: CommandPipelineDeps, group: readonly ParsedRequest[]): Promise<GroupWritten> {
  const { clock } = deps;
  const fingerprints = new Map(group.map((request) => [request.commandId, request.fingerprint] as const));
  const appended = await deps.storage.appendCommands({
    streamIds: [...new Set(group.map((request) => request.streamId))],
    commandIds: [...new Set(group.map((request) => request.commandId))],
    decide(stored) {
      const now = clock.now();
      const cursors = readCursors(group, stored);
      const { planned, fresh } = decideGroup(
        deps,
        group,
        cursors,
        stored.handled,
        new Date(now).toISOString(),
      );
      const commands: CommandRow[] = [];
      for (const plan of planned) {
        if (plan.kind !== 'write') continue;
        const { commandId, streamId, events, version } = plan.outcome;
        commands.push({
          commandId,
          streamId,
          eventIds: events.map((event) => event.eventId),
          version,
          handledAt: now,
          command: fingerprints.get(commandId) ?? '',
        });
      }
      const whileWriting = deps.faults?.whileWriting;
      return {
        events: fresh,
        commands,
        createdAt: now,
        earlierEventIds: [...stored.handled.values()].flatMap((row) => row.eventIds),
        plan: planned,
        ...(whileWriting
          ? {
              whileWriting: () => {
                for (const row of commands) whileWriting(row.commandId);
              },
            }
          : {}),
      };
    },
  });
  const results = answers(deps.storage.streamTypes, appended.plan, appended.events, appended.earlier);
  return { results, committed: appended.committed };
}

/** Step 4: one answer per request, in order; a repeat gets its first answer's events. */
function answers(
  types: StreamTypes,
  planned: readonly Planned[],
  stored: readonly StoredClientEvent[],
  earlier: readonly StoredEvent[],
): CommandResult[] {
  const positionOf = new Map(stored.map((event) => [event.eventId, event.position] as const));
  const earlierEvents = new Map<string, StoredClientEvent>();
  for (const event of earlier) if (event.kind === 'client') earlierEvents.set(event.eventId, event);
  const results: CommandResult[] = [];
  for (const plan of planned) {
    switch (plan.kind) {
      case 'write':
        results.push(
          ok({
            ...plan.outcome,
            events: plan.outcome.events.map((event) => ({
              ...event,
              position: positionOf.get(event.eventId),
            })),
          }),
        );
        break;
      case 'refused':
        results.push(err(plan.error));
        break;
      case 'handled': {
        const events = plan.row.eventIds
          .map((eventId) => earlierEvents.get(eventId))
          .filter((event): event is StoredClientEvent => event !== undefined)
          .sort((a, b) => a.version - b.version);
        const parsed = types.parse(plan.row.streamId);
        results.push(
          ok({
            commandId: plan.row.commandId,
            streamType: parsed?.type.name ?? '',
            id: parsed?.id ?? '',
            streamId: plan.row.streamId,
            version: plan.row.version,
            events,
            duplicate: true,
          }),
        );
        break;
      }
      case 'same-as': {
        const first = results[plan.first];
        if (!first) throw new Error('A repeated commandId must follow its first occurrence');
        results.push(first.ok ? ok({ ...first.value, duplicate: true }) : first);
        break;
      }
      default: {
        const unknownPlan: never = plan;
        return unknownPlan;
      }
    }
  }
  return results;
}

/**
 * Writes `requests` as one group and answers one result per request, in order; never rejects. Once the
 * group committed, the bus hears of its events and the open views of its streams get their rows.
 */
async function commitGroup(
  deps: CommandPipelineDeps,
  group: readonly ParsedRequest[],
): Promise<CommandResult[]> {
  try {
    const { results, committed } = await writeGroup(deps, group);
    const events: StoredEvent[] = [];
    for (const result of results)
      if (result.ok && !result.value.duplicate) events.push(...result.value.events);
    // The transaction promise resolved, so the commit is durable (strict durability): only now may anyone hear.
    for (const stream of committed) deps.onCommitted?.(stream);
    if (events.length > 0) deps.bus.publish(events);
    return results;
  } catch (error) {
    if (group.length === 1) return [err(toStorageError(error))];
    // Nothing of the group was written: each command now stands alone, in arrival order, so the one that
    // broke the transaction gets its own error and the others commit.
    const results: CommandResult[] = [];
    for (const request of group) results.push(...(await commitGroup(deps, [request])));
    return results;
  }
}

export function createCommandPipeline(deps: CommandPipelineDeps): CommandPipeline {
  const maxGroupSize = deps.maxGroupSize ?? 1000;
  let queue: { request: ParsedRequest; resolve: (result: CommandResult) => void }[] = [];
  let draining = false;

  async function drain(): Promise<void> {
    try {
      while (queue.length > 0) {
        const group = queue.slice(0, maxGroupSize);
        queue = queue.slice(group.length);
        const results = await commitGroup(
          deps,
          group.map((entry) => entry.request),
        );
        for (const [index, entry] of group.entries()) {
          entry.resolve(results[index] ?? err(toStorageError(new Error('No answer for the command'))));
        }
      }
    } finally {
      draining = false;
    }
  }

  return {
    execute(request) {
      const parsed = parseRequest(deps.storage.streamTypes, request, deps.ids);
      if (!parsed.ok) return Promise.resolve(parsed);
      return new Promise((resolve) => {
        queue.push({ request: parsed.value, resolve });
        if (!draining) {
          draining = true;
          // Let every command issued in the same task join this group before the transaction opens.
          queueMicrotask(() => void drain());
        }
      });
    },
  };
}
