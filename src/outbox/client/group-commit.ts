import Dexie from 'dexie';
import { decide } from '../../orders/domain/decide';
import { EVENT_SCHEMA_VERSION } from '../../orders/domain/events';
import { evolve, initialOrderState, type OrderState } from '../../orders/domain/order';
import type { EventMetadata } from '../protocol/messages';
import { err, ok, type Result } from '../result';
import {
  type CommandHandlerDeps,
  type CommandOutcome,
  type CommandRequest,
  type ParsedRequest,
  parseRequest,
  pendingOutboxRow,
  WRITE_TABLES,
} from './command-handler';
import type { CommandRow, StoredClientEvent, StoredEvent } from './db';
import { type CommandError, StreamDiscardedError, toStorageError } from './errors';
import { projectEvents } from './projections';

/**
 * Group commit: commands that arrive together share one IndexedDB transaction. A transaction costs the same
 * few milliseconds whether it stores one command or a thousand (docs/performance.md), so a burst of commands
 * goes several times faster, while each command stays atomic on its own and each stream keeps its order.
 *
 * How one group is written, without savepoints (IndexedDB has none):
 * 1. validate every request (a bad one gets its ValidationError and never reaches the database);
 * 2. in ONE rw transaction: read the touched streams' snapshots and the already-handled commandIds, then
 *    decide every command in arrival order, each against the state the previous ones of the group left
 *    (pure and synchronous, so nothing foreign is awaited inside the transaction), then write the events,
 *    outbox rows, command rows and read models of every command the aggregate accepted;
 * 3. a command the aggregate refuses is simply left out and gets its own OrderDomainError;
 * 4. if the transaction fails (a fault while writing some command's rows, a quota error), nothing of the
 *    group was written: the commands are retried one at a time, so a single bad command gets its own error
 *    and cannot sink the others.
 * Subscribers hear about events only after their transaction committed.
 */

export interface GroupCommitFaults {
  /**
   * Runs inside the group's transaction once per accepted command, after its rows were queued for writing.
   * Tests throw here to make one command's write fail.
   */
  readonly whileWriting?: (commandId: string) => void;
}

export interface GroupCommitDeps extends Omit<CommandHandlerDeps, 'faults' | 'maxConcurrencyRetries'> {
  /** The largest group one transaction takes; later arrivals form the next group. 1,000 by default. */
  readonly maxGroupSize?: number;
  readonly faults?: GroupCommitFaults;
}

export interface GroupCommitter {
  /** Queues the command into the next group; resolves after that group's commit, never rejects. */
  execute(request: CommandRequest): Promise<Result<CommandOutcome, CommandError>>;
}

export type CommandResult = Result<CommandOutcome, CommandError>;

interface StreamCursor {
  state: OrderState;
  version: number;
  readonly discardedFromVersion: number | undefined;
}

type Planned =
  | { readonly kind: 'write'; readonly outcome: CommandOutcome }
  | { readonly kind: 'refused'; readonly error: CommandError }
  | { readonly kind: 'handled'; readonly row: CommandRow }
  | { readonly kind: 'same-as'; readonly first: number };

/** A stream folded from its stored events, for a stream that has no cached snapshot (a new order). */
function foldStream(events: readonly StoredEvent[]): StreamCursor {
  let state: OrderState = initialOrderState;
  let version = 0;
  for (const event of [...events].sort((a, b) => (a.position ?? 0) - (b.position ?? 0))) {
    if (event.kind === 'local') continue;
    state = evolve(state, event);
    if (event.kind === 'client') version = Math.max(version, event.version);
  }
  return { state, version, discardedFromVersion: undefined };
}

/** Writes one group in one transaction; throws (and writes nothing) if the transaction fails. */
async function writeGroup(deps: GroupCommitDeps, group: readonly ParsedRequest[]): Promise<CommandResult[]> {
  const { db, clock, ids, clientId } = deps;
  return db.transaction('rw', [...WRITE_TABLES], async () => {
    const streamIds = [...new Set(group.map((request) => request.streamId))];
    const commandIds = [...new Set(group.map((request) => request.commandId))];
    const [streamRows, handledRows] = await Promise.all([
      db.streams.bulkGet(streamIds),
      db.commands.bulkGet(commandIds),
    ]);
    // Streams without a snapshot (new orders, mostly) are read all at once. Dexie.Promise.all keeps the
    // transaction zone however many there are; the native one loses it past about a hundred awaits.
    const missing = streamIds.filter((_, index) => streamRows[index] === undefined);
    const missingEvents = await Dexie.Promise.all(
      missing.map((streamId) => db.events.where('streamId').equals(streamId).toArray()),
    );
    const cursors = new Map<string, StreamCursor>();
    for (const [index, streamId] of missing.entries())
      cursors.set(streamId, foldStream(missingEvents[index] ?? []));
    for (const [index, streamId] of streamIds.entries()) {
      const row = streamRows[index];
      if (row) {
        cursors.set(streamId, {
          state: row.state,
          version: row.version,
          discardedFromVersion: row.discardedFromVersion,
        });
      }
    }
    const handled = new Map<string, CommandRow>();
    for (const row of handledRows) if (row) handled.set(row.commandId, row);

    // Decide everything first: pure and synchronous, so the transaction never waits on anything foreign.
    const now = clock.now();
    const occurredAt = new Date(now).toISOString();
    const firstOf = new Map<string, number>();
    const fresh: StoredClientEvent[] = [];
    const planned: Planned[] = group.map((request, index): Planned => {
      const { command, streamId, commandId, correlationId, causationId } = request;
      const handledRow = handled.get(commandId);
      if (handledRow) return { kind: 'handled', row: handledRow };
      const first = firstOf.get(commandId);
      if (first !== undefined) return { kind: 'same-as', first };
      firstOf.set(commandId, index);
      const cursor = cursors.get(streamId);
      if (!cursor) throw new Error(`No cursor for ${streamId}`);
      if (cursor.discardedFromVersion !== undefined) {
        return { kind: 'refused', error: new StreamDiscardedError(streamId, cursor.discardedFromVersion) };
      }
      const decision = decide(command, cursor.state);
      if (!decision.ok) return { kind: 'refused', error: decision.error };
      const metadata: EventMetadata = { commandId, correlationId, causationId, occurredAt, clientId };
      const events = decision.value.map(
        (event, offset): StoredClientEvent => ({
          ...event,
          kind: 'client',
          eventId: ids(),
          streamId,
          version: cursor.version + offset + 1,
          schemaVersion: EVENT_SCHEMA_VERSION,
          metadata,
          occurredAt,
        }),
      );
      for (const event of events) cursor.state = evolve(cursor.state, event);
      cursor.version += events.length;
      fresh.push(...events);
      return {
        kind: 'write',
        outcome: {
          commandId,
          orderId: command.orderId,
          streamId,
          version: cursor.version,
          events,
          duplicate: false,
        },
      };
    });

    const positions = fresh.length > 0 ? await db.events.bulkAdd(fresh, { allKeys: true }) : [];
    const positionOf = new Map<string, number>();
    for (const [index, event] of fresh.entries()) positionOf.set(event.eventId, positions[index] ?? 0);
    const stored = fresh.map((event) => ({ ...event, position: positionOf.get(event.eventId) }));
    const writes: CommandRow[] = [];
    for (const plan of planned) {
      if (plan.kind !== 'write') continue;
      const { commandId, streamId, events, version } = plan.outcome;
      writes.push({
        commandId,
        streamId,
        eventIds: events.map((event) => event.eventId),
        version,
        handledAt: now,
      });
    }
    await Promise.all([
      stored.length > 0 ? db.outbox.bulkAdd(stored.map((event) => pendingOutboxRow(event, now))) : undefined,
      writes.length > 0 ? db.commands.bulkAdd(writes) : undefined,
    ]);
    await projectEvents(db, stored);
    if (deps.faults?.whileWriting) for (const row of writes) deps.faults.whileWriting(row.commandId);

    const earlier = [...handled.values()].flatMap((row) => row.eventIds);
    const earlierEvents = new Map<string, StoredClientEvent>();
    if (earlier.length > 0) {
      for (const event of await db.events.where('eventId').anyOf(earlier).toArray()) {
        if (event.kind === 'client') earlierEvents.set(event.eventId, event);
      }
    }
    const withPositions = (events: readonly StoredClientEvent[]): StoredClientEvent[] =>
      events.map((event) => ({ ...event, position: positionOf.get(event.eventId) }));
    const results: CommandResult[] = [];
    for (const plan of planned) {
      switch (plan.kind) {
        case 'write':
          results.push(ok({ ...plan.outcome, events: withPositions(plan.outcome.events) }));
          break;
        case 'refused':
          results.push(err(plan.error));
          break;
        case 'handled': {
          const events = plan.row.eventIds
            .map((eventId) => earlierEvents.get(eventId))
            .filter((event): event is StoredClientEvent => event !== undefined)
            .sort((a, b) => a.version - b.version);
          results.push(ok(handledAnswer(plan.row, events)));
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
  });
}

function handledAnswer(row: CommandRow, events: readonly StoredClientEvent[]): CommandOutcome {
  return {
    commandId: row.commandId,
    orderId: row.streamId.slice('order-'.length),
    streamId: row.streamId,
    version: row.version,
    events,
    duplicate: true,
  };
}

function publishCommitted(deps: GroupCommitDeps, results: readonly CommandResult[]): void {
  const events: StoredEvent[] = [];
  for (const result of results) if (result.ok && !result.value.duplicate) events.push(...result.value.events);
  if (events.length > 0) deps.bus.publish(events);
}

/**
 * Writes `requests` as one group (see the module comment) and answers one result per request, in order.
 * Never rejects. Exported for bulk import, which feeds it chunks of thousands.
 */
export async function commitGroup(
  deps: GroupCommitDeps,
  requests: readonly CommandRequest[],
): Promise<CommandResult[]> {
  const results: (CommandResult | undefined)[] = new Array(requests.length);
  const parsed: { readonly index: number; readonly request: ParsedRequest }[] = [];
  for (const [index, request] of requests.entries()) {
    const outcome = parseRequest(request, deps.ids);
    if (outcome.ok) parsed.push({ index, request: outcome.value });
    else results[index] = outcome;
  }
  if (parsed.length > 0) {
    try {
      const written = await writeGroup(
        deps,
        parsed.map((entry) => entry.request),
      );
      for (const [position, entry] of parsed.entries()) results[entry.index] = written[position];
      publishCommitted(deps, written);
    } catch (error) {
      if (parsed.length === 1 && parsed[0]) {
        results[parsed[0].index] = err(toStorageError(error));
      } else {
        // Nothing of the group was written: each command now stands alone, in arrival order, so the one
        // that broke the transaction gets its own error and the others commit.
        for (const entry of parsed) {
          const { command, commandId, correlationId, causationId } = entry.request;
          const [single] = await commitGroup(deps, [{ command, commandId, correlationId, causationId }]);
          results[entry.index] = single;
        }
      }
    }
  }
  return results.map(
    (result) => result ?? err(toStorageError(new Error('A command of the group got no answer'))),
  );
}

/** A command handler that gathers the commands issued while a transaction runs into the next group. */
export function createGroupCommitter(deps: GroupCommitDeps): GroupCommitter {
  const maxGroupSize = deps.maxGroupSize ?? 1000;
  let queue: { request: CommandRequest; resolve: (result: CommandResult) => void }[] = [];
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
      return new Promise((resolve) => {
        queue.push({ request, resolve });
        if (!draining) {
          draining = true;
          // Let every command issued in the same task join this group before the transaction opens.
          queueMicrotask(() => void drain());
        }
      });
    },
  };
}
