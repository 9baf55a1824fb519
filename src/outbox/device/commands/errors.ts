import type { DomainError } from '../../stream-type';
import type { ValidationError } from '../../validation';

/** Why the browser refused a write: out of space, or any other storage failure. */
export type StorageErrorCode = 'quota_exceeded' | 'storage_failed';

/** The browser refused or failed the write: the whole transaction rolled back, nothing was saved. */
export class StorageError extends Error {
  constructor(
    readonly code: StorageErrorCode,
    message: string,
    override readonly cause?: unknown,
  ) {
    super(message);
    this.name = 'StorageError';
  }
}

/**
 * A dead entry of this stream was discarded on this device: the server can never accept later versions, so
 * the stream takes no more commands.
 */
export class StreamDiscardedError extends Error {
  readonly code = 'stream_discarded' as const;
  constructor(
    readonly streamId: string,
    readonly discardedFromVersion: number,
  ) {
    super(
      `Changes from version ${discardedFromVersion} on were discarded on this device; it takes no more changes`,
    );
    this.name = 'StreamDiscardedError';
  }
}

/**
 * The stream was archived on this device (`retention.ts`): settled, delivered and removed with its history,
 * so it takes no more commands here.
 */
export class StreamArchivedError extends Error {
  readonly code = 'stream_archived' as const;
  constructor(readonly streamId: string) {
    super('This was archived on this device: it is settled and takes no more changes');
    this.name = 'StreamArchivedError';
  }
}

/**
 * Another device wrote changes to this stream with a newer version of the app, which this one cannot read
 * (`StoredUnreadEvent`): deciding on the state without them could contradict them, so the stream takes no
 * command until this device updates. Nothing is lost: the changes are kept and read after the update.
 */
export class StreamNeedsUpdateError extends Error {
  readonly code = 'stream_needs_update' as const;
  constructor(readonly streamId: string) {
    super('Another device changed this with a newer version of the app: update this one to change it here');
    this.name = 'StreamNeedsUpdateError';
  }
}

/**
 * A commandId that was already used for another command: a client defect (an id reused across actions),
 * never a repeat of the first. Refused, nothing written; repeating the first command still answers it.
 */
export class CommandIdReusedError extends Error {
  readonly code = 'command_id_reused' as const;
  constructor(readonly commandId: string) {
    super(`The command id ${commandId} was already used for another command`);
    this.name = 'CommandIdReusedError';
  }
}

/** Every way a command can fail; each variant has a string `code` a UI can switch on. */
export type CommandError =
  | ValidationError
  | DomainError
  | CommandIdReusedError
  | StorageError
  | StreamDiscardedError
  | StreamArchivedError
  | StreamNeedsUpdateError;

const QUOTA_MESSAGE =
  'This device is out of storage space: nothing was saved. Free some space (or deliver what waits to be sent) and try again.';

/** Dexie wraps IndexedDB errors (AbortError with `inner`, or `cause`); the quota error can sit a few levels down. */
function isQuotaError(e: unknown, depth = 0): boolean {
  if (depth > 5 || typeof e !== 'object' || e === null) return false;
  const candidate = e as {
    name?: unknown;
    inner?: unknown;
    cause?: unknown;
    code?: unknown;
    failures?: unknown;
  };
  if (candidate.name === 'QuotaExceededError') return true;
  // Legacy DOMException code for QUOTA_EXCEEDED_ERR.
  if (candidate.code === 22 && e instanceof DOMException) return true;
  // Dexie's BulkError lists the error of each failed row (an array or an object keyed by index).
  const failures =
    typeof candidate.failures === 'object' && candidate.failures !== null
      ? Object.values(candidate.failures)
      : [];
  return (
    isQuotaError(candidate.inner, depth + 1) ||
    isQuotaError(candidate.cause, depth + 1) ||
    failures.some((failure) => isQuotaError(failure, depth + 1))
  );
}

/** Turns whatever IndexedDB or Dexie threw into a StorageError with a message a person can act on. */
export function toStorageError(e: unknown): StorageError {
  if (e instanceof StorageError) return e;
  if (isQuotaError(e)) return new StorageError('quota_exceeded', QUOTA_MESSAGE, e);
  const detail = e instanceof Error ? e.message : String(e);
  return new StorageError('storage_failed', `Saving on this device failed, nothing was saved: ${detail}`, e);
}
