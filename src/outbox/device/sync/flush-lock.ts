/**
 * One flusher at a time across every tab and the service worker. This module runs in both contexts (it
 * only touches `navigator.locks`, present in pages and workers), so it must stay free of DOM-only APIs.
 *
 * The Web Lock is the first line of defence; the outbox leases (src/outbox/device/sync) are the second, for browsers
 * without Web Locks and for a context that dies while holding rows.
 */

export const FLUSH_LOCK_NAME = 'outpost-flush';

export interface LockedFlushOptions {
  /** Absent where the browser has no Web Locks: the leases alone then keep flushers apart. */
  readonly locks?: LockManager | undefined;
  readonly lockName?: string;
}

export interface FlushRequest {
  /** Ignore backoff: an explicit "sync now", the network coming back, a Background Sync event. */
  readonly force?: boolean;
  /** Pull server decisions even when nothing is delivered (implied by `force`). */
  readonly pull?: boolean;
  /** What asked for this flush ('sync', 'online', 'command'…); reported to the other contexts. */
  readonly reasons?: readonly string[];
}

/**
 * Wraps `flush` so every run holds the cross-context lock, and calls made while a run is active in this
 * context coalesce into a single follow-up run (it starts after the current one, so it sees the rows
 * committed since; it forces if any of the coalesced calls asked to). Every caller gets the report of a run
 * that started after its call.
 */
export function createLockedFlush<R>(
  flush: (request: FlushRequest, exclusive: boolean) => Promise<R>,
  options: LockedFlushOptions = {},
): (request?: FlushRequest) => Promise<R> {
  const lockName = options.lockName ?? FLUSH_LOCK_NAME;
  const locks = options.locks;
  let running: Promise<R> | null = null;
  let queued: Promise<R> | null = null;
  let queuedForce = false;
  let queuedPull = false;
  let queuedReasons: string[] = [];

  // `exclusive`: every flusher of the origin runs under this lock, so while we hold it nobody else is
  // flushing, and any lease left on the outbox is a dead flusher's (the engine takes it back at once).
  const underLock = (request: FlushRequest): Promise<R> =>
    locks ? (locks.request(lockName, () => flush(request, true)) as Promise<R>) : flush(request, false);

  const start = (request: FlushRequest): Promise<R> => {
    const run = underLock(request).finally(() => {
      if (running === run) running = null;
    });
    running = run;
    return run;
  };

  return (request = {}) => {
    const force = request.force === true;
    const pull = request.pull === true;
    const reasons = request.reasons ?? [];
    if (queued) {
      queuedForce ||= force;
      queuedPull ||= pull;
      queuedReasons.push(...reasons);
      return queued;
    }
    if (running) {
      queuedForce = force;
      queuedPull = pull;
      queuedReasons = [...reasons];
      const next = running
        .catch(() => undefined)
        .then(() => {
          const merged = { force: queuedForce, pull: queuedPull, reasons: [...new Set(queuedReasons)] };
          queued = null;
          queuedForce = false;
          queuedPull = false;
          queuedReasons = [];
          return start(merged);
        });
      queued = next;
      return next;
    }
    return start({ force, pull, reasons });
  };
}
