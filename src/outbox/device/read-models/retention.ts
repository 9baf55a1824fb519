import * as v from 'valibot';
import type { ProgressListener } from '../../progress';
import {
  KEEP_EVERYTHING,
  type RetentionSetting,
  RetentionSettingError,
  RetentionSettingSchema,
} from './retention-setting';

export {
  KEEP_EVERYTHING,
  type RetentionSetting,
  RetentionSettingError,
  RetentionSettingSchema,
} from './retention-setting';

import {
  all,
  type OutboxDatabase,
  type OutboxRecords,
  readModelTableNames,
} from '../../storage/outbox-database';
import type { ArchivedStreamRow, OutboxRow, StoredEvent, StreamRow } from '../../storage/rows';
import type { AnyStreamType, CounterIncrement, CounterRow } from '../../stream-type';
import type { StreamTypes } from '../../stream-types';
import { addToCounters, projectStream, sumIncrements } from './projections';

/**
 * Retention: a device that takes orders for months need not keep every settled one. A stream whose type
 * says it is settled (`Retention.settled`: an order decided, a count accepted), whose every event the
 * server holds (no outbox row of any status) and whose last event is older than the person's setting can
 * be archived: its events, snapshot, delivery row and read-model rows leave the device in one transaction,
 * and a tombstone stays (`ArchivedStreamRow`).
 *
 * What stays true afterwards:
 * - counter rows that total history keep the stream's contribution (`Retention.keepsCounter`), and a
 *   rebuild starts from those kept sums (`KEPT_COUNTERS_KEY`), so the insights read the same before and
 *   after, rebuilt or not; counter rows that count what the device lists drop it;
 * - the pull cursor is untouched, and a server event of an archived stream pulled again is not stored
 *   (`storeServerEventsWithin`), so nothing comes back half-made;
 * - a command naming an archived stream is refused (`StreamArchivedError`), nothing written.
 *
 * Off by default: nothing is archived until the person sets a number of days, and the app offers an export
 * of exactly what it is about to archive (`exportStreams`) before `archiveStreams` runs.
 */

/** `meta` key of the person's setting. */
export const RETENTION_KEY = 'retention';
/** `meta` key of the counter sums archived streams keep: a rebuild starts from them. */
export const KEPT_COUNTERS_KEY = 'archivedCounters';

/** Kept counter sums: by table, by row, by field. */
export type KeptCounters = Readonly<
  Record<string, Readonly<Record<string, Readonly<Record<string, number>>>>>
>;

const DAY_MS = 24 * 60 * 60 * 1000;

export async function readRetention(database: OutboxDatabase): Promise<RetentionSetting> {
  const stored = await database.transact('r', ['meta'], (records) => records.meta(RETENTION_KEY));
  const read = v.safeParse(RetentionSettingSchema, stored);
  return read.success ? read.output : KEEP_EVERYTHING;
}

/** Stores the setting; a bad value throws `RetentionSettingError` and stores nothing. */
export async function writeRetention(database: OutboxDatabase, setting: RetentionSetting): Promise<void> {
  const checked = v.safeParse(RetentionSettingSchema, setting);
  if (!checked.success) throw new RetentionSettingError(setting.days);
  await database.transact('rw', ['meta'], (records) => records.putMeta(RETENTION_KEY, checked.output));
}

/** The moment before which a settled stream's last event must lie, for the setting at `now`; null: never. */
export function settledBefore(setting: RetentionSetting, now: number): string | null {
  return setting.days === null ? null : new Date(now - setting.days * DAY_MS).toISOString();
}

/** A stream that may be archived, as found: archiving re-checks it and skips it if it changed since. */
export interface ArchiveCandidate {
  readonly streamId: string;
  /** Its stream type's name (`order`) and the aggregate's id. */
  readonly type: string;
  readonly id: string;
  readonly version: number;
  /** The position of its last event when found. */
  readonly lastPosition: number;
  readonly updatedAt: string;
  readonly events: number;
}

/** Why a stream stays: what `archivable` found. */
type Verdict = { readonly ok: true } | { readonly ok: false; readonly reason: string };

/** Whether one stream may leave the device: settled, old enough, delivered, nothing discarded. */
function archivable(
  type: AnyStreamType | undefined,
  stream: StreamRow | undefined,
  outbox: readonly OutboxRow[],
  before: string,
): Verdict {
  if (!type?.retention) return { ok: false, reason: 'its type keeps every stream' };
  if (!stream) return { ok: false, reason: 'no snapshot' };
  if (outbox.length > 0) return { ok: false, reason: 'the server does not have all of it yet' };
  // Discarded changes never reach the server: the device holds the only record of them.
  if (stream.discardedFromVersion !== undefined) return { ok: false, reason: 'part of it was discarded' };
  if (!stream.updatedAt || stream.updatedAt >= before) return { ok: false, reason: 'too recent' };
  if (!type.retention.settled(stream.state)) return { ok: false, reason: 'not settled' };
  return { ok: true };
}

const SCAN_PAGE = 1_000;

export interface FindArchivableOptions {
  /** ISO time: a stream's last event must be older (`settledBefore`). */
  readonly before: string;
  /** At most this many candidates. */
  readonly limit: number;
  /** At most this many events read, oldest first; bounds one call on a large store. */
  readonly maxEvents?: number;
}

/**
 * Settled streams older than `before`, oldest first. Reads the event store from its oldest event, whose
 * streams are the oldest ones (archiving removes them, so the next call starts past them), and stops at the
 * first page whose every event is at or after `before`, at `limit` candidates, or after `maxEvents`.
 */
export function findArchivable(
  database: OutboxDatabase,
  options: FindArchivableOptions,
): Promise<ArchiveCandidate[]> {
  const types = database.streamTypes;
  const maxEvents = options.maxEvents ?? 200_000;
  return database.transact('r', ['events', 'outbox', 'streams'], async (records) => {
    const seen = new Set<string>();
    const candidates: ArchiveCandidate[] = [];
    let after = 0;
    let read = 0;
    while (candidates.length < options.limit && read < maxEvents) {
      const page = await records.eventsAfter(after, SCAN_PAGE);
      const last = page.at(-1)?.position;
      if (last === undefined) break;
      read += page.length;
      after = last;
      const fresh = [...new Set(page.map((event) => event.streamId))].filter((id) => !seen.has(id));
      for (const streamId of fresh) seen.add(streamId);
      const [streams, outbox] = await all([
        records.streams(fresh),
        all(fresh.map((streamId) => records.streamRows(streamId))),
      ]);
      for (const [index, streamId] of fresh.entries()) {
        const parsed = types.parse(streamId);
        const stream = streams[index];
        if (!parsed || !stream) continue;
        if (!archivable(parsed.type, stream, outbox[index] ?? [], options.before).ok) continue;
        candidates.push({
          streamId,
          type: parsed.type.name,
          id: parsed.id,
          version: stream.version,
          lastPosition: stream.foldedPosition ?? 0,
          updatedAt: stream.updatedAt ?? '',
          events: 0,
        });
        if (candidates.length >= options.limit) break;
      }
      if (page.every((event) => event.occurredAt >= options.before)) break;
    }
    // How many events each holds: what the export and the archive will carry.
    const counts = await all(candidates.map((candidate) => records.streamEvents(candidate.streamId)));
    return candidates.map((candidate, index) => ({ ...candidate, events: counts[index]?.length ?? 0 }));
  });
}

/** One archived stream in an export: every event the device held of it, in the order they were stored. */
export interface ExportedStream {
  readonly streamId: string;
  readonly events: readonly StoredEvent[];
}

/** Streams one archive transaction (and one step of an export) takes. */
const ARCHIVE_BATCH = 200;

/** What the person is offered to save before archiving: a JSON document of the streams' events. */
export interface ArchiveExport {
  readonly format: 'outpost-archive';
  readonly formatVersion: 1;
  /** ISO time of the export. */
  readonly exportedAt: string;
  readonly streams: readonly ExportedStream[];
}

/** The events of the candidates as they are stored now, for the person to keep. */
export function exportStreams(
  database: OutboxDatabase,
  candidates: readonly ArchiveCandidate[],
  now: number,
  /** Told the streams read so far, after each batch. */
  onProgress?: ProgressListener,
): Promise<ArchiveExport> {
  return database.transact('r', ['events'], async (records) => {
    // Read a batch of streams at a time (one snapshot: the same transaction), so a progress bar moves.
    const events: StoredEvent[][] = [];
    for (let start = 0; start < candidates.length; start += ARCHIVE_BATCH) {
      const batch = candidates.slice(start, start + ARCHIVE_BATCH);
      events.push(...(await all(batch.map((candidate) => records.streamEvents(candidate.streamId)))));
      onProgress?.({ done: events.length, total: candidates.length });
    }
    return {
      format: 'outpost-archive',
      formatVersion: 1,
      exportedAt: new Date(now).toISOString(),
      streams: candidates.map((candidate, index) => ({
        streamId: candidate.streamId,
        events: events[index] ?? [],
      })),
    };
  });
}

/** What an archive did: the streams it archived, and those it left, each with the reason. */
export interface ArchiveOutcome {
  readonly archived: readonly string[];
  /** Candidates left on the device, and why: each changed or stopped being archivable since it was found. */
  readonly kept: readonly { readonly streamId: string; readonly reason: string }[];
}

/** The tables one archive transaction reads and writes. */
export const archiveScope = (types: StreamTypes): string[] => [
  'events',
  'outbox',
  'streams',
  'deliveries',
  'meta',
  'archive',
  ...readModelTableNames(types),
];

/**
 * Archives the candidates that are still exactly as found (same last event) and still archivable, in
 * transactions of at most 200 streams: each wholly or not at all. Pass what `findArchivable` returned and
 * the export offered to the person was made of.
 */
export async function archiveStreams(
  database: OutboxDatabase,
  candidates: readonly ArchiveCandidate[],
  before: string,
  now: number,
  /** Told the candidates dealt with so far (archived or kept), after each transaction. */
  onProgress?: ProgressListener,
): Promise<ArchiveOutcome> {
  const archived: string[] = [];
  const kept: { streamId: string; reason: string }[] = [];
  for (let start = 0; start < candidates.length; start += ARCHIVE_BATCH) {
    const batch = candidates.slice(start, start + ARCHIVE_BATCH);
    const outcome = await database.transact('rw', archiveScope(database.streamTypes), (records) =>
      archiveWithin(records, database.streamTypes, batch, before, now),
    );
    archived.push(...outcome.archived);
    kept.push(...outcome.kept);
    onProgress?.({ done: archived.length + kept.length, total: candidates.length });
  }
  return { archived, kept };
}

async function archiveWithin(
  records: OutboxRecords,
  types: StreamTypes,
  batch: readonly ArchiveCandidate[],
  before: string,
  now: number,
): Promise<ArchiveOutcome> {
  const streamIds = batch.map((candidate) => candidate.streamId);
  const [streams, outbox, events, keptBefore] = await all([
    records.streams(streamIds),
    all(streamIds.map((streamId) => records.streamRows(streamId))),
    all(streamIds.map((streamId) => records.streamEvents(streamId))),
    records.meta(KEPT_COUNTERS_KEY),
  ]);
  const archived: string[] = [];
  const kept: { streamId: string; reason: string }[] = [];
  const tombstones: ArchivedStreamRow[] = [];
  const positions: number[] = [];
  const rowDeletes = new Map<string, string[]>();
  const takenBack: CounterIncrement[] = [];
  const keptIncrements: CounterIncrement[] = [];
  for (const [index, candidate] of batch.entries()) {
    const parsed = types.parse(candidate.streamId);
    const stream = streams[index];
    const verdict = archivable(parsed?.type, stream, outbox[index] ?? [], before);
    if (!verdict.ok) {
      kept.push({ streamId: candidate.streamId, reason: verdict.reason });
      continue;
    }
    if (!parsed || !stream || (stream.foldedPosition ?? 0) !== candidate.lastPosition) {
      kept.push({ streamId: candidate.streamId, reason: 'it changed since it was found' });
      continue;
    }
    const stored = events[index] ?? [];
    // The stream folded again from nothing: which read-model rows it wrote and what it added to counters,
    // exactly as the transactions that stored its events did (a rebuild relies on the same).
    const replay = projectStream(parsed.type, parsed.id, candidate.streamId, undefined, stored);
    if (replay) {
      for (const table of Object.keys(replay.rows)) {
        const ids = rowDeletes.get(table) ?? [];
        ids.push(parsed.id);
        rowDeletes.set(table, ids);
      }
      for (const increment of replay.increments) {
        if (parsed.type.retention?.keepsCounter(increment)) keptIncrements.push(increment);
        else takenBack.push(negated(increment));
      }
    }
    for (const event of stored) if (event.position !== undefined) positions.push(event.position);
    tombstones.push({
      streamId: candidate.streamId,
      version: stream.version,
      lastPosition: candidate.lastPosition,
      updatedAt: stream.updatedAt ?? '',
      archivedAt: now,
    });
    archived.push(candidate.streamId);
  }
  if (tombstones.length === 0) return { archived, kept };
  await all([
    records.archiveStreams(tombstones, positions),
    ...[...rowDeletes].map(([table, ids]) => records.deleteReadModelRows(table, ids)),
    addToCounters(records, takenBack),
    keptIncrements.length > 0
      ? records.putMeta(KEPT_COUNTERS_KEY, withKept(keptBefore as KeptCounters | undefined, keptIncrements))
      : undefined,
  ]);
  return { archived, kept };
}

export const negated = (increment: CounterIncrement): CounterIncrement => ({
  ...increment,
  add: Object.fromEntries(Object.entries(increment.add).map(([field, amount]) => [field, -amount])),
});

/** The kept sums as increments, so they add up with new ones the way counter rows do (`sumIncrements`). */
const incrementsOfKept = (kept: KeptCounters | undefined): CounterIncrement[] =>
  Object.entries(kept ?? {}).flatMap(([table, rows]) =>
    Object.entries(rows).map(([id, add]) => ({ table, id, add })),
  );

/** The kept sums with more increments added. */
export function withKept(
  stored: KeptCounters | undefined,
  increments: readonly CounterIncrement[],
): KeptCounters {
  const sums = sumIncrements([...incrementsOfKept(stored), ...increments]);
  return Object.fromEntries(
    [...sums].map(([table, byId]) => [
      table,
      Object.fromEntries([...byId].map(([id, fields]) => [id, Object.fromEntries(fields)])),
    ]),
  );
}

/** The kept sums as counter rows, which a rebuild writes before it replays the events still stored. */
export function keptCounterRows(kept: KeptCounters | undefined): Map<string, CounterRow[]> {
  const byTable = new Map<string, CounterRow[]>();
  for (const [table, rows] of Object.entries(kept ?? {})) {
    byTable.set(
      table,
      Object.entries(rows).map(([id, fields]) => ({ ...fields, id }) as CounterRow),
    );
  }
  return byTable;
}

/** Settled streams leaving the device (device/read-models/retention.ts). */
export interface RetentionStorage {
  /** The person's setting; "keep everything" when none (or an unreadable one) is stored. */
  readRetention(): Promise<RetentionSetting>;
  /** Stores the setting; a bad value throws `RetentionSettingError` and stores nothing. */
  writeRetention(setting: RetentionSetting): Promise<void>;
  /** Settled, delivered streams whose last event is older than `options.before`, oldest first. */
  findArchivable(options: FindArchivableOptions): Promise<ArchiveCandidate[]>;
  /** The candidates' events as stored now, for the person to keep before they are archived. */
  exportStreams(
    candidates: readonly ArchiveCandidate[],
    now: number,
    onProgress?: ProgressListener,
  ): Promise<ArchiveExport>;
  /** Archives the candidates still exactly as found and still archivable; says why any other stayed. */
  archiveStreams(
    candidates: readonly ArchiveCandidate[],
    before: string,
    now: number,
    onProgress?: ProgressListener,
  ): Promise<ArchiveOutcome>;
}

/** The retention part of the storage port over a database (`outbox-storage.ts`). */
export function retentionStorage(database: OutboxDatabase): RetentionStorage {
  return {
    readRetention: () => readRetention(database),
    writeRetention: (setting) => writeRetention(database, setting),
    findArchivable: (options) => findArchivable(database, options),
    exportStreams: (candidates, now, onProgress) => exportStreams(database, candidates, now, onProgress),
    archiveStreams: (candidates, before, now, onProgress) =>
      archiveStreams(database, candidates, before, now, onProgress),
  };
}
