import { all, type OutboxDatabase, readModelTableNames } from '../../storage/outbox-database';
import type {
  CommandRow,
  DeliveryRow,
  OutboxRow,
  StoredClientEvent,
  StoredEvent,
  StreamRow,
} from '../../storage/rows';
import type { StreamTypes } from '../../stream-types';
import {
  deliveryOf,
  outboxRowsByStream,
  projectStream,
  type StreamProjection,
  sameDelivery,
  streamFacts,
  writeProjections,
} from '../read-models/projections';
import { readAccountWithin } from '../sync/account';
import type { CommittedStream } from './committed-stream';

/**
 * The write side's one transaction: a group of commands decided against what is stored and appended with
 * everything that follows from them (events, outbox rows, command rows, snapshots, read models, delivery
 * facts), so a command is stored wholly or not at all. Deciding is the caller's (`command-pipeline.ts`),
 * pure and synchronous, inside the transaction: no other writer can come between a decision and its write.
 */

/** What the group's transaction read, for the decision. */
export interface StoredForGroup {
  /** Each stream's snapshot (undefined: no row yet). */
  readonly streams: ReadonlyMap<string, StreamRow | undefined>;
  /** Commands handled before, by commandId. */
  readonly handled: ReadonlyMap<string, CommandRow>;
  /** The stored events of each stream without a snapshot (a database from before snapshots), to fold. */
  readonly unsnapshotted: ReadonlyMap<string, readonly StoredEvent[]>;
  /** Streams without a snapshot that were archived (`retention.ts`): they take no more commands. */
  readonly archived: ReadonlySet<string>;
}

export interface GroupDecision<P> {
  /** The new client events, in order, without positions (the store gives them). */
  readonly events: readonly StoredClientEvent[];
  /** One row per command that wrote events: a repeat of its commandId answers the first result. */
  readonly commands: readonly CommandRow[];
  /** When the outbox rows were made. */
  readonly createdAt: number;
  /** Events of commands handled before, which their repeats answer with (read after the writes). */
  readonly earlierEventIds: readonly string[];
  /** Anything else the decision wants back with the outcome. */
  readonly plan: P;
  /** Runs once every write was issued, before commit; a throw aborts the group (fault injection in tests). */
  readonly whileWriting?: () => void;
}

export interface AppendRequest<P> {
  readonly streamIds: readonly string[];
  readonly commandIds: readonly string[];
  /** Pure and synchronous: it runs inside the transaction, where nothing foreign may be awaited. */
  decide(stored: StoredForGroup): GroupDecision<P>;
}

export interface Appended<P> {
  readonly plan: P;
  /** The events appended, with their positions, in order. */
  readonly events: readonly StoredClientEvent[];
  /** What the group left of each stream it wrote, to announce once the transaction committed. */
  readonly committed: readonly CommittedStream[];
  /** The stored events `earlierEventIds` named. */
  readonly earlier: readonly StoredEvent[];
}

/** The tables a command group writes: the core's and every stream type's read models. */
export const appendScope = (types: StreamTypes): string[] => [
  'events',
  'outbox',
  'streams',
  'commands',
  'deliveries',
  // Who is signed in: each row records who wrote it (sync/account.ts).
  'meta',
  // A stream without a snapshot may be an archived one (retention.ts).
  'archive',
  ...readModelTableNames(types),
];

/**
 * The outbox row a freshly written client event gets: never tried, due at once, written by whoever is
 * signed in. Pending, unless its stream already waits for someone else's sign-in: then it waits behind
 * (`parked`), since nothing of a stream goes out of order (sync/account.ts).
 */
export function freshOutboxRow(
  event: StoredClientEvent,
  now: number,
  writtenBy: string | null,
  streamParked: boolean,
): OutboxRow {
  return {
    eventId: event.eventId,
    position: event.position ?? 0,
    streamId: event.streamId,
    version: event.version,
    type: event.type,
    status: streamParked ? 'parked' : 'pending',
    attempts: 0,
    nextAttemptAt: 0,
    lastError: null,
    deadCode: null,
    createdAt: now,
    writtenBy,
  };
}

/** One group in one transaction; rejects (and writes nothing) if the decision or any write throws. */
export function appendCommands<P>(database: OutboxDatabase, request: AppendRequest<P>): Promise<Appended<P>> {
  const types = database.streamTypes;
  return database.transact('rw', appendScope(types), async (records) => {
    const { streamIds } = request;
    const [streamRows, handledRows, deliveryRows, outbox, account] = await all([
      records.streams(streamIds),
      records.commands(request.commandIds),
      records.deliveries(streamIds),
      outboxRowsByStream(records, streamIds),
      readAccountWithin(records),
    ]);
    const missing = streamIds.filter((_, index) => streamRows[index] === undefined);
    // `all` keeps Dexie's transaction zone however many there are; the native one loses it past about a hundred.
    const [tombstones, ...missingEvents] = await all([
      missing.length > 0 ? records.archivedStreams(missing) : [],
      ...missing.map((streamId) => records.streamEvents(streamId)),
    ]);
    const handled = new Map<string, CommandRow>();
    for (const row of handledRows) if (row) handled.set(row.commandId, row);
    const decision = request.decide({
      streams: new Map(streamIds.map((streamId, index) => [streamId, streamRows[index]] as const)),
      handled,
      unsnapshotted: new Map(
        missing.map((streamId, index) => [streamId, missingEvents[index] ?? []] as const),
      ),
      archived: new Set(missing.filter((_, index) => tombstones[index] !== undefined)),
    });

    // Events first (their positions order the outbox), then everything else at once.
    const positions = decision.events.length > 0 ? await records.appendEvents(decision.events) : [];
    const events = decision.events.map((event, index) => ({ ...event, position: positions[index] }));
    const parked = (streamId: string) =>
      outbox.get(streamId)?.some((row) => row.status === 'parked') === true;
    const rows = events.map((event) =>
      freshOutboxRow(event, decision.createdAt, account.user, parked(event.streamId)),
    );
    const { projections, deliveries, committed } = projectGroup(
      types,
      events,
      streamRows,
      deliveryRows,
      outbox,
      rows,
    );
    await all([
      rows.length > 0 ? records.addOutboxRows(rows) : undefined,
      decision.commands.length > 0 ? records.addCommands(decision.commands) : undefined,
      writeProjections(records, projections, deliveries),
    ]);
    decision.whileWriting?.();
    const earlier =
      decision.earlierEventIds.length > 0 ? await records.eventsWithIds(decision.earlierEventIds) : [];
    return { plan: decision.plan, events, committed, earlier };
  });
}

/** The projections of a group's fresh events, the delivery rows they change, and what to announce. */
function projectGroup(
  types: StreamTypes,
  stored: readonly StoredClientEvent[],
  streamRows: readonly (StreamRow | undefined)[],
  deliveryRows: readonly (DeliveryRow | undefined)[],
  outbox: ReadonlyMap<string, readonly OutboxRow[]>,
  appended: readonly OutboxRow[],
): { projections: StreamProjection[]; deliveries: DeliveryRow[]; committed: CommittedStream[] } {
  const byStream = new Map<string, StoredClientEvent[]>();
  for (const event of stored) byStream.set(event.streamId, [...(byStream.get(event.streamId) ?? []), event]);
  const rowIndex = new Map(streamRows.map((row, index) => [row?.streamId, index] as const));
  const projections: StreamProjection[] = [];
  const deliveries: DeliveryRow[] = [];
  const committed: CommittedStream[] = [];
  for (const [streamId, events] of byStream) {
    const parsed = types.parse(streamId);
    if (!parsed) continue;
    const current = streamRows.find((row) => row?.streamId === streamId);
    const projection = projectStream(parsed.type, parsed.id, streamId, current, events);
    if (!projection) continue;
    projections.push(projection);
    const rows = [...(outbox.get(streamId) ?? []), ...appended.filter((row) => row.streamId === streamId)];
    const delivery = deliveryOf(streamId, rows, streamFacts(projection.stream));
    const before = deliveryRows[rowIndex.get(streamId) ?? -1];
    if (!sameDelivery(before, delivery)) deliveries.push(delivery);
    committed.push({
      streamId,
      stream: projection.stream,
      rows: projection.rows,
      delivery,
      outbox: rows,
      events,
    });
  }
  return { projections, deliveries, committed };
}
