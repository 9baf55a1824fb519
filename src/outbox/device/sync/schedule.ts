import type { FlushReport } from './flush-report';

/**
 * When the outbox next needs a flush, decided the same way in every context (pages and the service worker)
 * from facts every context can read: what waits, the global gate a transient failure set (backoff,
 * Retry-After), the backoff the last flush left on its waiting lanes, and the leases in the table. Nothing
 * here reads a clock or sets a timer: callers pass `now` and arm their own timers, so a schedule is a
 * timeline a test can replay with fake timers (test/unit/sync/schedule.test.ts).
 *
 *   wake-ups that flush at once          wake-ups on time (this module)
 *   ─────────────────────────            ──────────────────────────────────────────────
 *   a committed command                  the gate (backoff after a failed request, Retry-After)
 *                                        a `/health` probe while the server cannot be reached
 *   `online`, the page becoming visible   a waiting lane's backoff (`retry` answers)
 *   page start, worker start              a lease's expiry (its flusher died mid-request)
 *   `sync` / `periodicsync` events        an owed pull's backoff
 *   "Sync now"
 *
 * Background Sync is one of the wake-ups, never the retry loop: Chromium retries a failed sync only after
 * minutes (../shared/STACK.md), so whoever holds a timer (the page that leads, a worker inside a `sync`
 * event) retries on this schedule instead.
 */
export interface WakeFacts {
  /** Entries not yet delivered: pending, in flight or not (dead ones wait for the person, not the clock). */
  readonly undelivered: number;
  /** No flush sends before this unless forced (`syncStatus.nextAttemptAt`); null when not gated. */
  readonly gateUntil: number | null;
  /** The earliest backoff among lanes the last flush left waiting (`syncStatus.retryAt`). */
  readonly retryAt: number | null;
  /** While the server cannot be reached at all: when the next `/health` probe is due; null otherwise. */
  readonly probeAt: number | null;
  /** `until` of every lease that still names an undelivered entry, passed or not. */
  readonly leaseUntils: readonly number[];
  readonly authRequired: boolean;
  /** A push delivered and its pull has not reached the end yet. */
  readonly pullOwed: boolean;
}

/**
 * When a flush can next achieve something, or null when nothing waits on time (all sent, sign-in needed,
 * or only dead entries left). A time at or before `now` means "now": a lease that passed, a backoff that ran
 * out. Nothing goes before a gate still ahead, so while there is one it is the answer; a gate that passed
 * constrains nothing (a failed request also sets `retryAt` to it, for the entries it failed).
 */
export function nextWakeAt(facts: WakeFacts, now: number): number | null {
  if (facts.authRequired) return null;
  const gate = facts.gateUntil !== null && facts.gateUntil > now ? facts.gateUntil : null;
  // While the server is unreachable, a probe may find it back before the gate passes.
  const gated = gate !== null && facts.probeAt !== null ? Math.min(gate, facts.probeAt) : gate;
  if (facts.undelivered === 0) {
    // Only an owed pull is left. The flush that delivered pulls right after (no wake-up needed, and one now
    // would only queue behind it); a pull that failed set the gate, and the debt is due when it passes.
    return facts.pullOwed ? (gated ?? facts.gateUntil) : null;
  }
  if (gated !== null) return gated;
  let earliest = facts.retryAt;
  for (const until of facts.leaseUntils) earliest = Math.min(earliest ?? until, until);
  return earliest;
}

/** The engine's own answer to the same question, from the flush it just ran. */
export const nextWakeAfter = (report: Pick<FlushReport, 'outcome' | 'nextAttemptAt'>): number | null =>
  report.outcome === 'auth-required' ? null : report.nextAttemptAt;

export interface SettleDeps {
  readonly flush: (request: { force?: boolean; reasons?: readonly string[] }) => Promise<FlushReport>;
  readonly now: () => number;
  readonly sleep: (ms: number) => Promise<void>;
  /** What this context believes about the network (a worker's `navigator.onLine`). */
  readonly isOnline: () => boolean;
  /** How long the whole run may last; the caller gives up after it (a `sync` event's limit). */
  readonly budgetMs: number;
  /** How often to look at the network again while offline. */
  readonly pollMs?: number;
  /** Shortest wait between two flushes, so a time already due can never spin the loop. */
  readonly minDelayMs?: number;
  /**
   * True when the run must end early and leave the rest to others: a new version of the service worker
   * waits, and it cannot take over while this event is pending (it flushes itself once it activates).
   */
  readonly shouldYield?: () => boolean;
}

export interface SettleResult {
  /** True when nothing is left waiting on time; false when the budget ran out (or it yielded) first. */
  readonly settled: boolean;
  readonly report: FlushReport;
  readonly flushes: number;
}

/**
 * Flushes, then keeps flushing on the engine's own schedule (backoff, Retry-After, lease expiry, the network
 * returning) until nothing waits on time or the budget is spent. What a service worker runs inside one
 * `sync` event: the browser keeps it alive for the event, and it fails the event (so the browser retries
 * much later) only after spending a budget safely under the browser's limit.
 */
export async function flushUntilSettled(deps: SettleDeps, reason: string): Promise<SettleResult> {
  const pollMs = deps.pollMs ?? 1_000;
  const minDelayMs = deps.minDelayMs ?? 250;
  const deadline = deps.now() + deps.budgetMs;
  const yielding = () => deps.shouldYield?.() === true;
  /** Sleeps until `at` in slices, so a reason to yield ends the wait early; false when it did. */
  const waitUntil = async (at: number): Promise<boolean> => {
    for (let now = deps.now(); now < at; now = deps.now()) {
      if (yielding()) return false;
      await deps.sleep(Math.min(at - now, pollMs));
    }
    return !yielding();
  };
  let flushes = 1;
  // The event itself means "try now": the network is back, or the browser retries a failed sync.
  let report = await deps.flush({ force: true, reasons: [reason] });
  for (;;) {
    if (report.outcome === 'offline' && !deps.isOnline()) {
      // Offline is not a time to wait for: look at the network until it returns, then go at once.
      if (deps.now() + pollMs >= deadline) return { settled: false, report, flushes };
      if (!(await waitUntil(deps.now() + pollMs))) return { settled: false, report, flushes };
      if (!deps.isOnline()) continue;
      report = await deps.flush({ force: true, reasons: [`${reason}:online`] });
      flushes += 1;
      continue;
    }
    const wakeAt = nextWakeAfter(report);
    if (wakeAt === null) return { settled: true, report, flushes };
    const at = Math.max(wakeAt, deps.now() + minDelayMs);
    if (at >= deadline) return { settled: false, report, flushes };
    if (!(await waitUntil(at))) return { settled: false, report, flushes };
    report = await deps.flush({ reasons: [`${reason}:retry`] });
    flushes += 1;
  }
}
