import {
  type ArchiveCandidate,
  type ArchiveOutcome,
  type RetentionSetting,
  type RetentionStorage,
  settledBefore,
} from '../device/read-models/retention';
import type { Clock } from '../ids';
import type { ProgressListener } from '../progress';

export type { ArchiveOutcome, RetentionSetting } from '../device/read-models/retention';

/**
 * Retention as the app offers it (src/outbox/device/read-models/retention.ts has the rules): the person's setting, what
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

/** Retention as a page offers it: the setting, what it makes due, the export and the archive of exactly that. */
export interface RetentionControls {
  /** The stored setting; keep everything when none is stored. */
  setting(): Promise<RetentionSetting>;
  /** Stores the setting (null: keep everything); a bad one throws `RetentionSettingError`, nothing stored. */
  setDays(days: number | null): Promise<void>;
  /** The settled streams the setting makes due now (at most `ARCHIVE_LIMIT`). */
  due(): Promise<ArchiveDue>;
  /** The due streams' events as a JSON file, for the person to keep before archiving. */
  exportDue(due: ArchiveDue, onProgress?: ProgressListener): Promise<Blob>;
  /** Archives the due streams still exactly as found; the others stay, with the reason. */
  archive(due: ArchiveDue, onProgress?: ProgressListener): Promise<ArchiveOutcome>;
}

/**
 * Retention as a page offers it, over the storage port's retention part. `ready` resolves once the stream
 * types have loaded: finding and archiving streams asks each type whether a stream is settled.
 */
export function createRetentionControls(
  storage: RetentionStorage,
  clock: Clock,
  ready: () => Promise<unknown>,
): RetentionControls {
  return {
    setting: () => storage.readRetention(),
    setDays: (days) => storage.writeRetention({ days }),
    async due() {
      const setting = await storage.readRetention();
      const before = settledBefore(setting, clock.now());
      if (before === null) return { setting, before, candidates: [], byType: {}, events: 0, more: false };
      await ready();
      const found = await storage.findArchivable({ before, limit: ARCHIVE_LIMIT + 1 });
      const candidates = found.slice(0, ARCHIVE_LIMIT);
      const byType: Record<string, number> = {};
      for (const candidate of candidates) byType[candidate.type] = (byType[candidate.type] ?? 0) + 1;
      const events = candidates.reduce((sum, candidate) => sum + candidate.events, 0);
      return { setting, before, candidates, byType, events, more: found.length > ARCHIVE_LIMIT };
    },
    async exportDue(due, onProgress) {
      const exported = await storage.exportStreams(due.candidates, clock.now(), onProgress);
      return new Blob([JSON.stringify(exported, null, 2)], { type: 'application/json' });
    },
    async archive(due, onProgress) {
      if (due.before === null || due.candidates.length === 0) return { archived: [], kept: [] };
      await ready();
      return storage.archiveStreams(due.candidates, due.before, clock.now(), onProgress);
    },
  };
}
