import Dexie from 'dexie';
import * as v from 'valibot';
import { type OrderCommand, parseCommand } from '../../orders/domain/commands';
import { decide } from '../../orders/domain/decide';
import { EVENT_SCHEMA_VERSION } from '../../orders/domain/events';
import { UuidSchema } from '../../orders/domain/fields';
import { foldOrder, type OrderState } from '../../orders/domain/order';
import type { Clock, IdGenerator } from '../ids';
import { type EventMetadata, orderIdOf, streamIdOf } from '../protocol/messages';
import { err, ok, type Result } from '../result';
import { type FieldIssue, ValidationError, validate } from '../validation';
import { announceCommitted, type CommittedOrderRows } from './committed-views';
import type {
  CommandRow,
  OrderDetail,
  OrderSummary,
  OutboxRow,
  OutpostDb,
  StoredClientEvent,
  StoredEvent,
  StreamRow,
} from './db';
import { type CommandError, ConcurrencyError, StreamDiscardedError, toStorageError } from './errors';
import type { EventBus } from './event-bus';
import { projectRows } from './projections';

export interface CommandHandlerFaults {
  /**
   * Runs inside the command's transaction after its events, outbox rows and read models were written and
   * before commit. Tests throw here to prove that a failure leaves nothing behind.
   */
  readonly afterAppend?: () => void;
}

export interface CommandHandlerDeps {
  readonly db: OutpostDb;
  readonly clock: Clock;
  readonly ids: IdGenerator;
  readonly clientId: string;
  readonly bus: EventBus;
  /** How many times a command is decided again after losing a race on its stream; 3 by default. */
  readonly maxConcurrencyRetries?: number;
  /** How many streams' snapshots the handler keeps in memory to skip the read transaction; 1000 by default. */
  readonly snapshotCacheSize?: number;
  readonly faults?: CommandHandlerFaults;
}

export interface CommandRequest {
  /** Checked at runtime against the command schemas: anything may come in from a form. */
  readonly command: unknown;
  /** The idempotency key: give the same id when repeating an action (a double click, a resend). */
  readonly commandId?: string;
  readonly correlationId?: string;
  readonly causationId?: string | null;
}

export interface CommandOutcome {
  readonly commandId: string;
  readonly orderId: string;
  readonly streamId: string;
  /** The stream's version after the command. */
  readonly version: number;
  /** The events the command wrote; empty when it was already satisfied. */
  readonly events: readonly StoredClientEvent[];
  /** True when this commandId was handled before: nothing was written and this is the first answer. */
  readonly duplicate: boolean;
}

export interface CommandHandler {
  /**
   * Validates, decides and writes a command in one durable transaction. Resolves after the commit, never
   * rejects: every failure is a typed CommandError and means nothing was written.
   */
  execute(request: CommandRequest): Promise<Result<CommandOutcome, CommandError>>;
}

const RequestIdsSchema = v.object({
  commandId: v.optional(UuidSchema),
  correlationId: v.optional(UuidSchema),
  causationId: v.optional(v.nullable(UuidSchema)),
});

/** Every table a command's transaction writes; shared with the group committer. */
export const WRITE_TABLES = [
  'events',
  'outbox',
  'streams',
  'commands',
  'orderSummaries',
  'orderDetails',
] as const;

/** A command request that passed the boundary check, with its ids settled. */
export interface ParsedRequest {
  readonly command: OrderCommand;
  readonly streamId: string;
  readonly commandId: string;
  readonly correlationId: string;
  readonly causationId: string | null;
  /** False when the handler made the commandId up: then no earlier command can have it. */
  readonly idGiven: boolean;
}

/**
 * The boundary check every writer of commands runs: the command against its schema and the optional ids,
 * all issues reported together; the commandId defaults to a fresh id and the correlationId to it.
 */
export function parseRequest(
  request: CommandRequest,
  ids: IdGenerator,
): Result<ParsedRequest, ValidationError> {
  const issues: FieldIssue[] = [];
  const command = parseCommand(request.command);
  if (!command.ok) issues.push(...command.error.issues);
  const meta = validate(RequestIdsSchema, {
    commandId: request.commandId,
    correlationId: request.correlationId,
    causationId: request.causationId,
  });
  if (!meta.ok) issues.push(...meta.error.issues);
  if (!command.ok || !meta.ok) return err(new ValidationError(issues));
  const commandId = meta.value.commandId ?? ids();
  return ok({
    command: command.value,
    streamId: streamIdOf(command.value.orderId),
    commandId,
    correlationId: meta.value.correlationId ?? commandId,
    causationId: meta.value.causationId ?? null,
    idGiven: meta.value.commandId !== undefined,
  });
}

interface LoadedStream {
  readonly state: OrderState;
  readonly version: number;
  readonly discardedFromVersion: number | undefined;
  /** True when this came from the handler's memory, not from the database: nothing vouches for it yet. */
  readonly cached: boolean;
  /** True when it is a stream row's content, so the stream row alone is the expected-version check. */
  readonly fromRow: boolean;
  /** The order's read-model rows as the handler's last commit left them (remembered snapshots only). */
  readonly views?: CommittedOrderRows;
}

type Attempt =
  | Result<CommandOutcome, CommandError>
  | { readonly ok: 'duplicate'; readonly row: CommandRow }
  /** The remembered snapshot refused the command: only the database may say no. */
  | { readonly ok: 'unsure' };

/** Ends a write transaction that must write nothing; its answer is handed back once the abort is done. */
class Refusal extends Error {
  constructor(readonly answer: Attempt) {
    super('refused inside the write transaction');
  }
}

/**
 * Structural equality of stored plain data. A snapshot read back from IndexedDB is a structured clone, so
 * identity says nothing; a property holding `undefined` counts as absent, as it does to the domain.
 */
function sameData(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const left = a as Record<string, unknown>;
  const right = b as Record<string, unknown>;
  const keys = new Set([...Object.keys(left), ...Object.keys(right)]);
  for (const key of keys) if (!sameData(left[key], right[key])) return false;
  return true;
}

/** Whether the stream row read inside the write transaction is still the snapshot the command was decided on. */
function sameSnapshot(row: StreamRow, loaded: LoadedStream): boolean {
  return (
    row.version === loaded.version &&
    row.discardedFromVersion === loaded.discardedFromVersion &&
    sameData(row.state, loaded.state)
  );
}

/**
 * Whether the read models read inside the write transaction are still the ones the handler's last commit
 * left. The summary is compared whole (its sync fields stand for the order's outbox rows: every change to
 * those rows that matters to the summary rewrites it in the same transaction); the detail only ever grows by
 * timeline entries, so its length and last entry say whether anyone appended to it.
 */
function sameViews(
  summary: OrderSummary | undefined,
  detail: OrderDetail | undefined,
  views: CommittedOrderRows,
): boolean {
  return (
    sameData(summary, views.summary) &&
    detail !== undefined &&
    detail.timeline.length === views.detail.timeline.length &&
    detail.timeline.at(-1)?.eventId === views.detail.timeline.at(-1)?.eventId
  );
}

export function createCommandHandler(deps: CommandHandlerDeps): CommandHandler {
  const { db, clock, ids, clientId, bus } = deps;
  const maxRetries = deps.maxConcurrencyRetries ?? 3;

  /** The highest client version stored for the stream: the truth the expected-version check compares with. */
  async function storedVersion(streamId: string): Promise<number> {
    const last = await db.events
      .where('[streamId+version]')
      .between([streamId, Dexie.minKey], [streamId, Dexie.maxKey])
      .last();
    return last?.kind === 'client' ? last.version : 0;
  }

  /**
   * Snapshots of the streams this handler wrote, as its own commits left them, so the next command on the
   * same order skips the read transaction. A hint only: the write transaction compares it with the stream row
   * and refuses to write on anything else (another tab, the sync engine or a rebuild changed the stream).
   * Least recently used entries go first.
   */
  const snapshots = new Map<string, LoadedStream>();
  const snapshotLimit = deps.snapshotCacheSize ?? 1000;

  function remember(streamId: string, snapshot: LoadedStream): void {
    snapshots.delete(streamId);
    snapshots.set(streamId, snapshot);
    if (snapshots.size > snapshotLimit) {
      const oldest = snapshots.keys().next();
      if (!oldest.done) snapshots.delete(oldest.value);
    }
  }

  /**
   * One read transaction: whether the command was handled already, and the stream's state (the stored
   * snapshot when there is one, otherwise folded from the event store).
   */
  async function load(commandId: string, streamId: string): Promise<CommandRow | LoadedStream> {
    return db.transaction('r', [db.commands, db.streams, db.events], async () => {
      const [handled, row] = await Promise.all([db.commands.get(commandId), db.streams.get(streamId)]);
      if (handled) return handled;
      if (row) {
        return {
          state: row.state,
          version: row.version,
          discardedFromVersion: row.discardedFromVersion,
          cached: false,
          fromRow: true,
        };
      }
      const events = await db.events.where('streamId').equals(streamId).sortBy('position');
      const folded = foldOrder(events.filter((event) => event.kind !== 'local'));
      return {
        state: folded,
        version: await storedVersion(streamId),
        discardedFromVersion: undefined,
        cached: false,
        fromRow: false,
      };
    });
  }

  async function answerOf(row: CommandRow): Promise<CommandOutcome> {
    const stored = await db.events
      .where('eventId')
      .anyOf([...row.eventIds])
      .toArray();
    const events = stored
      .filter((event): event is StoredClientEvent => event.kind === 'client')
      .sort((a, b) => a.version - b.version);
    const orderId = orderIdOf(row.streamId);
    return {
      commandId: row.commandId,
      orderId,
      streamId: row.streamId,
      version: row.version,
      events,
      duplicate: true,
    };
  }

  async function attempt(request: ParsedRequest, useSnapshot: boolean): Promise<Attempt> {
    const { command, streamId, commandId, correlationId, causationId } = request;
    const remembered = useSnapshot ? snapshots.get(streamId) : undefined;
    const loaded = remembered ?? (await load(commandId, streamId));
    if ('commandId' in loaded) return { ok: 'duplicate', row: loaded };
    if (loaded.discardedFromVersion !== undefined) {
      if (loaded.cached) return { ok: 'unsure' };
      return err(new StreamDiscardedError(streamId, loaded.discardedFromVersion));
    }
    // Decide outside the transaction: IndexedDB commits a transaction that waits on anything but itself.
    const decision = decide(command, loaded.state);
    // A refusal from memory may be stale, or the command a repeat whose first answer must be returned.
    if (!decision.ok) return loaded.cached ? { ok: 'unsure' } : decision;

    const now = clock.now();
    const occurredAt = new Date(now).toISOString();
    const metadata: EventMetadata = { commandId, correlationId, causationId, occurredAt, clientId };
    const fresh: StoredClientEvent[] = decision.value.map((event, index) => ({
      ...event,
      kind: 'client',
      eventId: ids(),
      streamId,
      version: loaded.version + index + 1,
      schemaVersion: EVENT_SCHEMA_VERSION,
      metadata,
      occurredAt,
    }));
    const version = loaded.version + fresh.length;

    /** The events' positions, or the error adding them failed with (read only if the checks pass). */
    const addEvents = (): Promise<number[] | Error> =>
      fresh.length === 0
        ? Promise.resolve([])
        : db.events.bulkAdd(fresh, { allKeys: true }).then(
            (keys) => keys.map(Number),
            (error: unknown) => (error instanceof Error ? error : new Error(String(error))),
          );
    const check = (handled: CommandRow | undefined, stream: StreamRow | undefined): Attempt | undefined => {
      if (handled) return { ok: 'duplicate', row: handled };
      if (stream?.discardedFromVersion !== undefined) {
        return err(new StreamDiscardedError(streamId, stream.discardedFromVersion));
      }
      if (stream && !sameSnapshot(stream, loaded)) {
        return err(new ConcurrencyError(streamId, loaded.version, stream.version));
      }
      return undefined;
    };
    const checkEventIndex = async (): Promise<Attempt | undefined> => {
      const actual = await storedVersion(streamId);
      return actual === loaded.version
        ? undefined
        : err(new ConcurrencyError(streamId, loaded.version, actual));
    };

    // The stream row as this commit leaves it: remembered only once the commit is durable.
    let snapshot: LoadedStream | undefined;
    // The order's read-model rows as this commit leaves them: announced only once it is durable.
    let committedRows: CommittedOrderRows | undefined;
    const written = await db
      .transaction('rw', [...WRITE_TABLES], async (): Promise<Attempt> => {
        // Each await in a transaction is one IndexedDB round trip, and round trips, not bytes, are what a
        // command costs (docs/performance.md). So: one round of reads (the checks and what the read models
        // need) with the events added alongside, then every other write together. Adding the events before
        // the checks is safe because a failed check aborts the transaction, which takes them back. The stream
        // row is the expected-version check, as in the group committer; a stream without one (a new order) is
        // checked against the event index first, before anything is added.
        const early = loaded.fromRow && fresh.length > 0;
        const added = early ? addEvents() : undefined;
        // With the rows its own last commit left for this order, the handler writes at once, in the same
        // round as the reads that check them: a command then costs one round trip, as the raw write does.
        // The reads are issued first, so they see the rows as they were; on any difference the transaction
        // is aborted (taking the early writes back) and the command runs again on fresh reads.
        const views = early && loaded.cached ? loaded.views : undefined;
        const reads = Promise.all([
          request.idGiven ? db.commands.get(commandId) : undefined,
          db.streams.get(streamId),
          db.orderSummaries.get(command.orderId),
          db.orderDetails.get(command.orderId),
          fresh.length > 0 ? db.outbox.where('streamId').equals(streamId).toArray() : [],
        ]);
        // The read models need no event positions: only the outbox rows wait for the events' keys.
        const pending = fresh.map((event) => pendingOutboxRow(event, now));
        const writeAll = (
          next: ReturnType<typeof projectRows>,
          outboxBefore: readonly OutboxRow[],
        ): Promise<[StoredClientEvent[], ...unknown[]]> => {
          const appendEvents = async (): Promise<StoredClientEvent[]> => {
            const positions = await (added ?? addEvents());
            if (positions instanceof Error) throw positions;
            const stored = fresh.map((event, index) => ({ ...event, position: positions[index] }));
            if (stored.length > 0) {
              const rows = stored.map((event) => pendingOutboxRow(event, now));
              await db.outbox.bulkAdd(rows);
              if (next?.summary) {
                committedRows = {
                  summary: next.summary,
                  detail: next.detail,
                  outbox: [...outboxBefore, ...rows],
                  discardedFromVersion: next.stream.discardedFromVersion,
                };
              }
            }
            return stored;
          };
          return Promise.all([
            appendEvents(),
            db.commands.add({
              commandId,
              streamId,
              eventIds: fresh.map((event) => event.eventId),
              version,
              handledAt: now,
            }),
            next ? db.streams.put(next.stream) : undefined,
            next ? db.orderDetails.put(next.detail) : undefined,
            next?.summary ? db.orderSummaries.put(next.summary) : undefined,
          ]);
        };

        let next: ReturnType<typeof projectRows>;
        let stream: StreamRow | undefined;
        let events: StoredClientEvent[];
        if (views) {
          const remembered: StreamRow = { streamId, version: loaded.version, state: loaded.state };
          next = projectRows(streamId, fresh, { stream: remembered, ...views }, [
            ...views.outbox,
            ...pending,
          ]);
          const writes = writeAll(next, views.outbox);
          // Awaited below unless a check fails first; then the abort rejects it and nobody needs to hear.
          writes.catch(() => undefined);
          const [handled, storedStream, summary, detail, outbox] = await reads;
          stream = storedStream;
          const refused =
            check(handled, stream) ??
            (sameViews(summary, detail, views) ? undefined : { ok: 'unsure' as const });
          if (refused) throw new Refusal(refused);
          [events] = await writes;
          // Rows the sync engine delivered meanwhile are gone without changing the summary: what the order's
          // view is told, and what the next command starts from, are the rows as they are now.
          if (committedRows) {
            const appended = committedRows.outbox.slice(views.outbox.length);
            committedRows = { ...committedRows, outbox: [...outbox, ...appended] };
          }
        } else {
          const [handled, storedStream, summary, detail, outbox] = await reads;
          stream = storedStream;
          const refused = check(handled, stream) ?? (stream ? undefined : await checkEventIndex());
          if (refused) throw new Refusal(refused);
          next =
            fresh.length > 0
              ? projectRows(streamId, fresh, { stream, detail, summary }, [...outbox, ...pending])
              : undefined;
          [events] = await writeAll(next, outbox);
        }
        deps.faults?.afterAppend?.();
        const row = next?.stream ?? stream;
        if (row) {
          snapshot = {
            state: row.state,
            version: row.version,
            discardedFromVersion: row.discardedFromVersion,
            cached: true,
            fromRow: true,
            ...(committedRows ? { views: committedRows } : {}),
          };
        }
        return ok({ commandId, orderId: command.orderId, streamId, version, events, duplicate: false });
      })
      .catch((error: unknown) => {
        if (error instanceof Refusal) return error.answer;
        throw error;
      });
    if (written.ok === true && snapshot) remember(streamId, snapshot);
    else snapshots.delete(streamId);
    if (written.ok === true && committedRows) announceCommitted(db, committedRows);
    return written;
  }

  async function execute(request: CommandRequest): Promise<Result<CommandOutcome, CommandError>> {
    const parsed = parseRequest(request, ids);
    if (!parsed.ok) return parsed;
    const { streamId } = parsed.value;
    try {
      let useSnapshot = true;
      for (let retry = 0; ; ) {
        const outcome = await attempt(parsed.value, useSnapshot);
        if (outcome.ok === 'unsure') {
          // Not a lost race: ask the database once, which also answers a repeated commandId.
          snapshots.delete(streamId);
          useSnapshot = false;
          continue;
        }
        if (outcome.ok === 'duplicate') return ok(await answerOf(outcome.row));
        if (!outcome.ok && outcome.error instanceof ConcurrencyError && retry < maxRetries) {
          retry += 1;
          continue;
        }
        // The transaction promise resolved, so the commit is durable (strict durability): only now may
        // anyone hear about the events.
        if (outcome.ok) bus.publish(outcome.value.events satisfies readonly StoredEvent[]);
        return outcome;
      }
    } catch (error) {
      snapshots.delete(streamId);
      return err(toStorageError(error));
    }
  }

  return { execute };
}

/** The outbox row a freshly written client event gets: pending, never tried, due at once. */
export function pendingOutboxRow(event: StoredClientEvent, now: number): OutboxRow {
  return {
    eventId: event.eventId,
    position: event.position ?? 0,
    streamId: event.streamId,
    version: event.version,
    type: event.type,
    status: 'pending',
    attempts: 0,
    nextAttemptAt: 0,
    lastError: null,
    deadCode: null,
    createdAt: now,
  };
}
