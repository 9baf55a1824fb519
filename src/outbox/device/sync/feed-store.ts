import * as v from 'valibot';
import type { IdGenerator } from '../../ids';
import { all, type OutboxDatabase, type OutboxRecords } from '../../storage/outbox-database';
import type {
  ArchivedStreamRow,
  CommandRow,
  OutboxRow,
  StoredClientEvent,
  StoredEvent,
  StoredRefusalRecord,
  StoredServerEvent,
  StreamRow,
} from '../../storage/rows';
import type { AnyStreamType, CounterIncrement, DomainCommand, ReadModelRow } from '../../stream-type';
import type { StreamTypes } from '../../stream-types';
import { freshOutboxRow } from '../commands/append-commands';
import {
  addToCounters,
  deliveryOf,
  outboxRowsByStream,
  projectEvents,
  projectStream,
  refreshDeliveryWithin,
  streamFacts,
} from '../read-models/projections';
import {
  KEPT_COUNTERS_KEY,
  type KeptCounters,
  negated,
  RETENTION_KEY,
  settledBefore,
  withKept,
} from '../read-models/retention';
import { KEEP_EVERYTHING, RetentionSettingSchema } from '../read-models/retention-setting';
import type { ArrivingEvent } from './feed-events';
import {
  AUTHORS_KEY,
  type Authors,
  CATCH_UP_KEY,
  type CatchUp,
  type FeedState,
  readAuthorsWithin,
  readFeedStateWithin,
  sameFeedState,
  UNREAD_KEY,
  unreadCountOf,
} from './feed-state';
import { syncTables } from './outbox-store';
import { type PendingCommand, rebase } from './rebase';

/**
 * One feed page stored, in one transaction (docs/sync.md, "The feed"): what other devices wrote goes into the
 * event store and the read models like this device's own events, with no outbox row; this device's own events
 * that come back are known by eventId and prove their delivery (their outbox rows go); and where an event
 * another device stored takes a version this device's unsent events hold, those are decided again
 * (`rebase.ts`) and replaced in the same transaction. The feed's place moves with it, and only from where it
 * was read: a page stored twice, or by two contexts, changes nothing the second time.
 */

export interface FeedPageToStore {
  /** The feed record this page moves (`feedStateKey`). */
  readonly key: string;
  /** The record as it was when the page was asked for: another context may have moved it since. */
  readonly expected: FeedState;
  readonly next: FeedState;
  /** In the server's order. */
  readonly events: readonly ArrivingEvent[];
  readonly authors: Authors;
  /**
   * A history page: how far the history has come. Its streams that the person's retention setting would
   * archive at once (settled, last changed before the setting's days) are kept as tombstones, as archiving
   * leaves them (`retention.ts`).
   */
  readonly catchUp?: CatchUp;
  readonly now: number;
  readonly ids: IdGenerator;
  /**
   * The caller holds the cross-context flush lock: a lease left on rows to decide again is a dead flusher's,
   * and is taken back rather than waited for.
   */
  readonly reclaimLeases: boolean;
}

export type FeedPageStored =
  | {
      readonly kind: 'applied';
      /** Every event stored, with positions, to publish once committed. */
      readonly stored: readonly StoredEvent[];
      /** Commands of this device that no longer held. */
      readonly refused: readonly StoredRefusalRecord[];
      /** Own outbox rows the feed proved delivered. */
      readonly delivered: number;
      /** New outbox rows written by deciding commands again: events to send. */
      readonly rebased: number;
    }
  /** Another context moved the feed since this page was asked for: it is ahead; nothing was stored. */
  | { readonly kind: 'moved' }
  /** Unsent events to decide again are in another flusher's live lease: nothing was stored, try after `until`. */
  | { readonly kind: 'held'; readonly until: number };

/** The server's history and this device's disagree about a stream: a page that cannot be stored. */
export class FeedDivergenceError extends Error {
  readonly code = 'feed_diverged' as const;
  constructor(readonly streamId: string) {
    super(`The server's ${streamId} holds events this device stored as delivered under other ids`);
    this.name = 'FeedDivergenceError';
  }
}

export const feedTables = (types: StreamTypes): string[] => [...syncTables(types), 'commands'];

export function storeFeedPage(database: OutboxDatabase, page: FeedPageToStore): Promise<FeedPageStored> {
  const types = database.streamTypes;
  return database.transact('rw', feedTables(types), (records) => storeFeedPageWithin(records, types, page));
}

const unique = <T>(values: Iterable<T>): T[] => [...new Set(values)];
const byPosition = (a: StoredEvent, b: StoredEvent) => (a.position ?? 0) - (b.position ?? 0);
const clientVersion = (event: ArrivingEvent): number | null =>
  event.kind === 'client' ? event.version : event.kind === 'unread' ? (event.version ?? null) : null;

export async function storeFeedPageWithin(
  records: OutboxRecords,
  types: StreamTypes,
  page: FeedPageToStore,
): Promise<FeedPageStored> {
  const state = await readFeedStateWithin(records, page.key);
  if (!sameFeedState(state, page.expected)) return { kind: 'moved' };

  const eventIds = page.events.map((event) => event.eventId);
  const streamIds = unique(page.events.map((event) => event.streamId));
  const [storedIds, ownRows, tombstones, snapshots, leases, authors, retention] = await all([
    records.storedEventIds(eventIds),
    ownOutboxRows(records, eventIds),
    records.archivedStreams(streamIds),
    records.streams(streamIds),
    records.leases(),
    readAuthorsWithin(records),
    page.catchUp ? records.meta(RETENTION_KEY) : undefined,
  ]);
  const known = new Set(storedIds);
  // This device's own events, back from the server: delivered, whatever became of the answer to their push.
  const delivered = ownRows.filter((row): row is OutboxRow => row !== undefined);
  const deliveredIds = new Set(delivered.map((row) => row.eventId));
  const archived = new Set(streamIds.filter((_, index) => tombstones[index] !== undefined));
  const snapshotOf = new Map(streamIds.map((streamId, index) => [streamId, snapshots[index]] as const));
  let fresh = page.events.filter((event) => !known.has(event.eventId) && !archived.has(event.streamId));

  const setting = v.safeParse(RetentionSettingSchema, retention);
  const before = page.catchUp
    ? settledBefore(setting.success ? setting.output : KEEP_EVERYTHING, page.now)
    : null;
  const retired = retireSettled(types, fresh, snapshotOf, before, page.now);
  if (retired.tombstones.length > 0) {
    const gone = new Set(retired.tombstones.map((row) => row.streamId));
    fresh = fresh.filter((event) => !gone.has(event.streamId));
  }

  // Where another device's event takes a version this device's unsent events hold, those are decided again.
  const freshByStream = new Map<string, ArrivingEvent[]>();
  for (const event of fresh)
    freshByStream.set(event.streamId, [...(freshByStream.get(event.streamId) ?? []), event]);
  const touched = [...freshByStream.keys()].filter((streamId) => snapshotOf.get(streamId) !== undefined);
  const outbox = await outboxRowsByStream(records, touched);
  const conflicts = new Map<string, OutboxRow[]>();
  for (const streamId of touched) {
    const versions = (freshByStream.get(streamId) ?? []).map(clientVersion).filter((n) => n !== null);
    if (versions.length === 0) continue;
    const lowest = Math.min(...versions);
    const unsent = (outbox.get(streamId) ?? []).filter((row) => !deliveredIds.has(row.eventId));
    if (unsent.some((row) => row.version >= lowest)) conflicts.set(streamId, unsent);
    else if ((snapshotOf.get(streamId)?.version ?? 0) >= lowest) throw new FeedDivergenceError(streamId);
  }

  if (conflicts.size > 0) {
    const rowIds = new Set([...conflicts.values()].flat().map((row) => row.eventId));
    const holding = leases.filter((lease) => lease.eventIds.some((eventId) => rowIds.has(eventId)));
    const live = holding.filter((lease) => lease.until > page.now);
    // An answer may still come for rows in flight: they are decided again once it is known.
    if (!page.reclaimLeases && live.length > 0) {
      return { kind: 'held', until: Math.min(...live.map((lease) => lease.until)) };
    }
    if (holding.length > 0) await records.deleteLeases(holding.map((lease) => lease.batchId));
  }

  if (delivered.length > 0) await records.deleteOutboxRows([...deliveredIds]);

  const plans = conflicts.size > 0 ? await planRebases(records, types, page, conflicts, freshByStream) : [];
  const rebased = new Set(plans.map((plan) => plan.streamId));

  // The page's events in its order, then each rebased stream's new events and refusals after them.
  const positions = fresh.length > 0 ? await records.appendEvents(fresh) : [];
  const storedFresh: ArrivingEvent[] = fresh.map((event, index) => ({
    ...event,
    position: positions[index] ?? 0,
  }));
  const written = plans.flatMap((plan) => [...plan.events, ...plan.refusals]);
  const writtenPositions = written.length > 0 ? await records.appendEvents(written) : [];
  const storedWritten: StoredEvent[] = written.map((event, index) => ({
    ...event,
    position: writtenPositions[index] ?? 0,
  }));

  const newStreams = new Set(streamIds.filter((streamId) => snapshotOf.get(streamId) === undefined));
  await projectEvents(
    records,
    types,
    storedFresh.filter((event) => !rebased.has(event.streamId)),
    { newStreams },
  );
  for (const plan of plans) {
    await reproject(records, plan, [
      ...storedFresh.filter((event) => event.streamId === plan.streamId),
      ...storedWritten.filter((event) => event.streamId === plan.streamId),
    ]);
  }
  const settledElsewhere = unique(delivered.map((row) => row.streamId)).filter(
    (streamId) => !rebased.has(streamId) && !freshByStream.has(streamId),
  );
  await refreshDeliveryWithin(records, settledElsewhere);
  if (retired.tombstones.length > 0) await retire(records, retired);

  const nextAuthors = { ...authors, ...page.authors };
  const unread = storedFresh.filter((event) => event.kind === 'unread').length;
  await all([
    unread > 0
      ? records.meta(UNREAD_KEY).then((count) => records.putMeta(UNREAD_KEY, unreadCountOf(count) + unread))
      : undefined,
    records.putMeta(page.key, page.next),
    JSON.stringify(nextAuthors) === JSON.stringify(authors)
      ? undefined
      : records.putMeta(AUTHORS_KEY, nextAuthors),
    page.catchUp ? records.putMeta(CATCH_UP_KEY, page.catchUp) : undefined,
  ]);
  const refused = storedWritten.filter(
    (event): event is StoredRefusalRecord => event.kind === 'local' && event.type === 'CommandRefused',
  );
  return {
    kind: 'applied',
    stored: [...storedFresh, ...storedWritten],
    refused,
    delivered: delivered.length,
    rebased: plans.reduce((sum, plan) => sum + plan.events.length, 0),
  };
}

/**
 * This device's outbox rows among the page's events (its own events coming back). Usually the outbox holds
 * nothing (a new device) or little: its size is counted first, and only a non-empty outbox is looked up.
 */
async function ownOutboxRows(
  records: OutboxRecords,
  eventIds: readonly string[],
): Promise<(OutboxRow | undefined)[]> {
  const [pending, dead, parked] = await all([
    records.countRows('pending'),
    records.countRows('dead'),
    records.countRows('parked'),
  ]);
  return pending + dead + parked === 0 ? [] : records.outboxRows(eventIds);
}

/** What a rebase of one stream replaces, writes and takes back. */
interface StreamRebase {
  readonly streamId: string;
  readonly type: AnyStreamType;
  readonly id: string;
  /** The stream's stored events before the page, the replaced ones included, in position order. */
  readonly before: readonly StoredEvent[];
  /** The stored events that stay (everything but the replaced ones). */
  readonly kept: readonly StoredEvent[];
  readonly events: readonly StoredClientEvent[];
  readonly refusals: readonly StoredRefusalRecord[];
  /** The new events' outbox rows, positions filled in when written. */
  readonly rows: (position: (eventId: string) => number) => OutboxRow[];
}

/** The command a row stored (canonical JSON), checked by its stream type again; null when none or unreadable. */
function storedCommand(type: AnyStreamType, row: CommandRow | undefined): DomainCommand | null {
  if (row?.command === undefined) return null;
  try {
    const parsed = v.safeParse(type.commands, JSON.parse(row.command));
    return parsed.success ? (parsed.output as DomainCommand) : null;
  } catch {
    return null;
  }
}

async function planRebases(
  records: OutboxRecords,
  types: StreamTypes,
  page: FeedPageToStore,
  conflicts: ReadonlyMap<string, readonly OutboxRow[]>,
  freshByStream: ReadonlyMap<string, readonly ArrivingEvent[]>,
): Promise<(StreamRebase & { readonly commandRows: readonly CommandRow[] })[]> {
  const streamIds = [...conflicts.keys()];
  const stored = await all(streamIds.map((streamId) => records.streamEvents(streamId)));
  const unsentEvents = streamIds.map((streamId, index) => {
    const ids = new Set((conflicts.get(streamId) ?? []).map((row) => row.eventId));
    return (stored[index] ?? [])
      .filter((event): event is StoredClientEvent => event.kind === 'client' && ids.has(event.eventId))
      .sort((a, b) => a.version - b.version);
  });
  const commandIds = unique(unsentEvents.flat().map((event) => event.metadata.commandId));
  const commandRows = await records.commands(commandIds);
  const commandOf = new Map(commandIds.map((commandId, index) => [commandId, commandRows[index]] as const));
  const plans: (StreamRebase & { readonly commandRows: readonly CommandRow[] })[] = [];
  const replaced: number[] = [];
  const replacedRows: string[] = [];
  for (const [index, streamId] of streamIds.entries()) {
    const parsed = types.parse(streamId);
    if (!parsed) continue;
    const before = [...(stored[index] ?? [])].sort(byPosition);
    const unsent = unsentEvents[index] ?? [];
    const unsentIds = new Set(unsent.map((event) => event.eventId));
    const kept = before.filter((event) => !unsentIds.has(event.eventId));
    const arrived = freshByStream.get(streamId) ?? [];
    const rows = conflicts.get(streamId) ?? [];
    const rowOf = new Map(rows.map((row) => [row.eventId, row] as const));

    // Each command's unsent events, commands in the order they were first written.
    const grouped = new Map<string, StoredClientEvent[]>();
    for (const event of unsent) {
      grouped.set(event.metadata.commandId, [...(grouped.get(event.metadata.commandId) ?? []), event]);
    }
    const newerDevice = arrived.some((event) => event.kind === 'unread');
    const pending: PendingCommand[] = [...grouped].map(([commandId, events]) => {
      const row = commandOf.get(commandId);
      return {
        commandId,
        // A newer device's change this build cannot read: nothing can be decided on the stream as it is now.
        command: newerDevice ? null : storedCommand(parsed.type, row),
        events,
        partlyDelivered: row?.eventIds.some((eventId) => !unsentIds.has(eventId)) === true,
      };
    });
    const keptState = kept.reduce<unknown>(
      (state, event) =>
        event.kind === 'client' || event.kind === 'server' ? parsed.type.evolve(state, event) : state,
      parsed.type.initialState,
    );
    const known = arrived.filter(
      (event): event is StoredClientEvent | StoredServerEvent =>
        event.kind === 'client' || event.kind === 'server',
    );
    const version = Math.max(
      0,
      ...kept.flatMap((event) =>
        event.kind === 'client'
          ? [event.version]
          : event.kind === 'unread' && event.version
            ? [event.version]
            : [],
      ),
      ...arrived.map(clientVersion).filter((n) => n !== null),
    );
    const plan = rebase({
      type: parsed.type,
      kept: keptState,
      arrived: known,
      version,
      pending,
      ids: page.ids,
    });
    const occurredAt = new Date(page.now).toISOString();
    const refusals: StoredRefusalRecord[] = plan.commands.flatMap((command) =>
      command.refused
        ? [
            {
              kind: 'local' as const,
              type: 'CommandRefused' as const,
              eventId: page.ids(),
              streamId,
              schemaVersion: 1,
              occurredAt,
              data: command.refused,
            },
          ]
        : [],
    );
    // A command's new rows keep who wrote it and whether it waits for them (parked), as its old rows did.
    const originOf = new Map(
      plan.commands.map((command) => {
        const first = grouped.get(command.commandId)?.[0];
        return [command.commandId, first ? rowOf.get(first.eventId) : undefined] as const;
      }),
    );
    const newCommandRows: CommandRow[] = plan.commands.flatMap((command) => {
      const row = commandOf.get(command.commandId);
      if (!row) return [];
      const last = command.events.at(-1);
      return [
        {
          ...row,
          eventIds: command.events.map((event) => event.eventId),
          version: last?.version ?? row.version,
        },
      ];
    });
    plans.push({
      streamId,
      type: parsed.type,
      id: parsed.id,
      before,
      kept,
      events: plan.events,
      refusals,
      commandRows: newCommandRows,
      rows: (position) =>
        plan.commands.flatMap((command) => {
          const origin = originOf.get(command.commandId);
          return command.events.map((event) =>
            freshOutboxRow(
              { ...event, position: position(event.eventId) },
              page.now,
              origin?.writtenBy ?? null,
              origin?.status === 'parked',
            ),
          );
        }),
    });
    replaced.push(...unsent.flatMap((event) => (event.position === undefined ? [] : [event.position])));
    replacedRows.push(...rows.map((row) => row.eventId));
  }
  // The replaced events and their rows go before anything is appended: their versions are taken next.
  await all([
    replaced.length > 0 ? records.deleteEvents(replaced) : undefined,
    replacedRows.length > 0 ? records.deleteOutboxRows(replacedRows) : undefined,
  ]);
  return plans;
}

/**
 * A rebased stream's rows made again from its events as they now stand: its snapshot, its read-model rows
 * (a table the old events wrote and the new ones do not loses its row), what it adds to counters (the old
 * events' sums taken back, the new ones' added), its new outbox rows and its delivery.
 */
async function reproject(
  records: OutboxRecords,
  plan: StreamRebase & { readonly commandRows: readonly CommandRow[] },
  appended: readonly StoredEvent[],
): Promise<void> {
  const positionOf = new Map(appended.map((event) => [event.eventId, event.position ?? 0] as const));
  const now = [...plan.kept, ...appended].sort(byPosition);
  const old = projectStream(plan.type, plan.id, plan.streamId, undefined, plan.before, plan.before);
  const next = projectStream(plan.type, plan.id, plan.streamId, undefined, now, now);
  if (!next) return;
  const rows: Record<string, ReadModelRow | null> = {};
  for (const table of Object.keys(old?.rows ?? {})) rows[table] = null;
  for (const [table, row] of Object.entries(next.rows)) if (row !== undefined) rows[table] = row;
  const outboxRows = plan.rows((eventId) => positionOf.get(eventId) ?? 0);
  const remaining = await records.streamRows(plan.streamId);
  const stream: StreamRow = next.stream;
  const increments: CounterIncrement[] = [...next.increments, ...(old?.increments ?? []).map(negated)];
  await all([
    records.putStreams([stream]),
    outboxRows.length > 0 ? records.addOutboxRows(outboxRows) : undefined,
    plan.commandRows.length > 0 ? records.putCommands(plan.commandRows) : undefined,
    ...Object.entries(rows).map(([table, row]) =>
      row === null ? records.deleteReadModelRows(table, [plan.id]) : records.putReadModelRows(table, [row]),
    ),
    addToCounters(records, increments),
    records.putDeliveries([deliveryOf(plan.streamId, [...remaining, ...outboxRows], streamFacts(stream))]),
  ]);
}

/** Streams a history page brings that the person's retention setting would archive at once. */
interface Retired {
  readonly tombstones: readonly ArchivedStreamRow[];
  /** What they add to counters of history, which archived streams keep (`retention.ts`). */
  readonly kept: readonly CounterIncrement[];
}

function retireSettled(
  types: StreamTypes,
  fresh: readonly ArrivingEvent[],
  snapshotOf: ReadonlyMap<string, StreamRow | undefined>,
  before: string | null,
  now: number,
): Retired {
  if (before === null) return { tombstones: [], kept: [] };
  const byStream = new Map<string, ArrivingEvent[]>();
  for (const event of fresh) byStream.set(event.streamId, [...(byStream.get(event.streamId) ?? []), event]);
  const tombstones: ArchivedStreamRow[] = [];
  const kept: CounterIncrement[] = [];
  for (const [streamId, events] of byStream) {
    const parsed = types.parse(streamId);
    const retention = parsed?.type.retention;
    // Only a stream new to this device, whole, of a type that archives: anything else is stored.
    if (!parsed || !retention || snapshotOf.get(streamId) !== undefined) continue;
    if (
      events.some((event) => event.kind === 'unread') ||
      events[0]?.kind !== 'client' ||
      events[0].version !== 1
    ) {
      continue;
    }
    const replay = projectStream(parsed.type, parsed.id, streamId, undefined, events);
    const stream = replay?.stream;
    if (!replay || !stream?.updatedAt || stream.updatedAt >= before || !retention.settled(stream.state))
      continue;
    tombstones.push({
      streamId,
      version: stream.version,
      lastPosition: 0,
      updatedAt: stream.updatedAt,
      archivedAt: now,
    });
    kept.push(...replay.increments.filter((increment) => retention.keepsCounter(increment)));
  }
  return { tombstones, kept };
}

async function retire(records: OutboxRecords, retired: Retired): Promise<void> {
  const keptBefore = (await records.meta(KEPT_COUNTERS_KEY)) as KeptCounters | undefined;
  await all([
    records.archiveStreams(retired.tombstones, []),
    addToCounters(records, retired.kept),
    retired.kept.length > 0
      ? records.putMeta(KEPT_COUNTERS_KEY, withKept(keptBefore, retired.kept))
      : undefined,
  ]);
}
