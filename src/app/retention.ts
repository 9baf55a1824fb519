import type { OutpostDb } from '../outbox/client/db';
import { streamTypesOf } from '../outbox/client/db';
import {
  type ArchiveCandidate,
  type ArchiveOutcome,
  archiveStreams,
  exportStreams,
  findArchivable,
  type RetentionSetting,
  readRetention,
  settledBefore,
  writeRetention,
} from '../outbox/client/retention';
import type { Clock } from '../outbox/ids';
import type { ProgressListener } from '../outbox/progress';

export type { ArchiveOutcome, RetentionSetting } from '../outbox/client/retention';

/**
 * Retention as the app offers it (src/outbox/client/retention.ts has the rules): the person's setting, what
 * it makes due, the export of exactly that, and the archive of exactly that. Loaded when the Outbox screen
 * asks, never in the first screen.
 */

/** How many streams one archive offers at most: the export stays a file a person can keep. */
export const ARCHIVE_LIMIT = 5_000;

/** What the setting makes due now: the settled streams older than `before`, found at `foundAt`. */
export interface ArchiveDue {
  readonly setting: RetentionSetting;
  /** ISO time a settled stream's last event must be older than; null while retention is off. */
  readonly before: string | null;
  readonly candidates: readonly ArchiveCandidate[];
  /** How many of them of each stream type (`order`, `stockcount`). */
  readonly byType: Readonly<Record<string, number>>;
  /** How many events they hold in all: what the archive removes from the device. */
  readonly events: number;
  /** Whether more are due than one archive takes (`ARCHIVE_LIMIT`): archive again after this one. */
  readonly more: boolean;
}

export interface RetentionControls {
  setting(): Promise<RetentionSetting>;
  /** Stores the setting (null: keep everything); a bad one throws `RetentionSettingError`, nothing stored. */
  setDays(days: number | null): Promise<void>;
  due(): Promise<ArchiveDue>;
  /** The due streams' events as a JSON file, for the person to keep before archiving. */
  exportDue(due: ArchiveDue, onProgress?: ProgressListener): Promise<Blob>;
  /** Archives the due streams still exactly as found; the others stay, with the reason. */
  archive(due: ArchiveDue, onProgress?: ProgressListener): Promise<ArchiveOutcome>;
}

export function createRetentionControls(db: OutpostDb, clock: Clock): RetentionControls {
  return {
    setting: () => readRetention(db),
    setDays: (days) => writeRetention(db, { days }),
    async due() {
      const setting = await readRetention(db);
      const before = settledBefore(setting, clock.now());
      if (before === null) return { setting, before, candidates: [], byType: {}, events: 0, more: false };
      await streamTypesOf(db);
      const found = await findArchivable(db, { before, limit: ARCHIVE_LIMIT + 1 });
      const candidates = found.slice(0, ARCHIVE_LIMIT);
      const byType: Record<string, number> = {};
      for (const candidate of candidates) byType[candidate.type] = (byType[candidate.type] ?? 0) + 1;
      const events = candidates.reduce((sum, candidate) => sum + candidate.events, 0);
      return { setting, before, candidates, byType, events, more: found.length > ARCHIVE_LIMIT };
    },
    async exportDue(due, onProgress) {
      const exported = await exportStreams(db, due.candidates, clock.now(), onProgress);
      return new Blob([JSON.stringify(exported, null, 2)], { type: 'application/json' });
    },
    async archive(due, onProgress) {
      if (due.before === null || due.candidates.length === 0) return { archived: [], kept: [] };
      await streamTypesOf(db);
      return archiveStreams(db, due.candidates, due.before, clock.now(), onProgress);
    },
  };
}
