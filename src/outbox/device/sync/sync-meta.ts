import * as v from 'valibot';
import type { OutboxDatabase, OutboxRecords } from '../../storage/outbox-database';

/**
 * The engine-side facts of sync, kept in the `meta` table so every context that opens the database (a page,
 * another tab, the service worker) derives the same status, whoever is flushing.
 */
export const SYNC_STATUS_KEY = 'syncStatus';
/** The pull cursor: advanced only from pull answers, in the transaction that stores what they carried. */
export const PULL_CURSOR_KEY = 'pullCursor';

const nullableTime = v.nullable(v.pipe(v.number(), v.finite()));

export const SyncMetaSchema = v.object({
  lastSuccessAt: nullableTime,
  lastError: v.nullable(v.string()),
  /** Set by a transient failure (backoff, Retry-After): no flush sends before it unless forced. */
  nextAttemptAt: nullableTime,
  /**
   * The earliest moment a lane the last flush left waiting on its own backoff (a `retry` answer) may go:
   * written by the claim that ends a flush, so every context knows when the outbox next needs one, whoever
   * flushed. Null when nothing waits on time.
   */
  retryAt: v.optional(nullableTime, null),
  /**
   * Set while the server is unreachable (the last request could not connect at all, the device online): when
   * it was last tried. Until a request succeeds, a cheap `/health` probe every `probeEveryMs` from then
   * looks for it to come back, so the outbox goes as soon as it does rather than at the end of a backoff.
   */
  unreachableSince: v.optional(nullableTime, null),
  /**
   * While the server is unreachable: when the next `/health` probe is due, by the policy of whoever failed to
   * reach it, so every context's schedule wakes for it without knowing that policy.
   */
  probeAt: v.optional(nullableTime, null),
  /** Pulls that failed in a row since the last one that reached the end: the backoff of the owed pull. */
  pullFailures: v.optional(v.pipe(v.number(), v.safeInteger(), v.minValue(0)), 0),
  /** A 401/403 paused sync until sign-in; kept across reloads so no context hammers a refusing server. */
  authRequired: v.boolean(),
  /**
   * A push delivered events and no pull has succeeded since: their server decisions may still wait on the
   * server. Kept in the database so whichever context flushes next pulls, even with nothing left to send.
   */
  pullOwed: v.optional(v.boolean(), false),
});
export type SyncMeta = v.InferOutput<typeof SyncMetaSchema>;

export const initialSyncMeta: SyncMeta = {
  lastSuccessAt: null,
  lastError: null,
  nextAttemptAt: null,
  retryAt: null,
  unreachableSince: null,
  probeAt: null,
  pullFailures: 0,
  authRequired: false,
  pullOwed: false,
};

/** A missing or unreadable row (an older build, a hand edit) reads as the initial facts rather than failing. */
export function parseSyncMeta(value: unknown): SyncMeta {
  const parsed = v.safeParse(SyncMetaSchema, value);
  return parsed.success ? parsed.output : initialSyncMeta;
}

export async function readSyncMetaWithin(records: OutboxRecords): Promise<SyncMeta> {
  return parseSyncMeta(await records.meta(SYNC_STATUS_KEY));
}

/** A change to the facts: fields to set, or a function of the current facts giving them. */
export type SyncMetaPatch = Partial<SyncMeta> | ((current: SyncMeta) => Partial<SyncMeta>);

/** Read-modify-write of the facts inside the caller's transaction (which must include `meta`). */
export async function patchSyncMetaWithin(records: OutboxRecords, patch: SyncMetaPatch): Promise<SyncMeta> {
  const current = await readSyncMetaWithin(records);
  const next = { ...current, ...(typeof patch === 'function' ? patch(current) : patch) };
  await records.putMeta(SYNC_STATUS_KEY, next);
  return next;
}

const META = ['meta'] as const;

export function readSyncMeta(database: OutboxDatabase): Promise<SyncMeta> {
  return database.transact('r', META, readSyncMetaWithin);
}

/** Read-modify-write of the facts in one transaction, so two contexts never lose each other's change. */
export function patchSyncMeta(database: OutboxDatabase, patch: SyncMetaPatch): Promise<SyncMeta> {
  return database.transact('rw', META, (records) => patchSyncMetaWithin(records, patch));
}

/**
 * Where a clientId's pull cursor is kept: the server answers pulls per clientId, and each user on a device
 * pulls under their own (sync/account.ts). The device's own clientId keeps the key it always had.
 */
export const pullCursorKey = (clientId: string, deviceClientId: string): string =>
  clientId === deviceClientId ? PULL_CURSOR_KEY : `${PULL_CURSOR_KEY}:${clientId}`;

export async function readPullCursor(
  database: OutboxDatabase,
  key: string = PULL_CURSOR_KEY,
): Promise<string | null> {
  const value = await database.transact('r', META, (records) => records.meta(key));
  return typeof value === 'string' ? value : null;
}
