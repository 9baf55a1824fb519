import type { StoredServerEvent } from '../../storage/rows';
import type { EventRelay } from '../event-relay';
import type { FlushOptions, FlushReport } from './engine';
import { createLockedFlush, type FlushRequest } from './flush-lock';
import { type SyncChannelMessage, toFlushReportMessage } from './sync-channel';

/**
 * The flush every context runs: the sync engine's `flush()` under the cross-context lock, then a message on
 * the sync channel so the other contexts learn what happened (the report, and the server events applied).
 * Used unchanged by pages and by the service worker.
 */
export interface CoordinatedFlushDeps {
  readonly engine: {
    flush(options?: FlushOptions): Promise<FlushReport>;
    pull(options?: { exclusive?: boolean }): Promise<number>;
  };
  /** The engine publishes the server events it stored here; they are collected for the broadcast. */
  readonly bus: EventRelay;
  readonly channel: Pick<BroadcastChannel, 'postMessage'> | null;
  readonly source: SyncChannelMessage['source'];
  readonly locks?: LockManager | undefined;
}

export type CoordinatedFlush = (request?: FlushRequest) => Promise<FlushReport>;

export function createCoordinatedFlush(deps: CoordinatedFlushDeps): CoordinatedFlush {
  const once = async (request: FlushRequest, exclusive: boolean): Promise<FlushReport> => {
    const serverEvents: StoredServerEvent[] = [];
    const subscription = deps.bus.events$.subscribe((event) => {
      if (event.kind === 'server') serverEvents.push(event);
    });
    let report: FlushReport;
    try {
      report = await deps.engine.flush({ force: request.force === true, exclusive });
      // The engine pulls only after a push that delivered something; a pull that failed then (or decisions
      // made while this device was away) would wait for the next order. Explicit triggers pull anyway.
      const wantsPull = request.force === true || request.pull === true;
      if (wantsPull && report.pulled === 0 && (report.outcome === 'idle' || report.outcome === 'drained')) {
        const pulled = await deps.engine.pull({ exclusive }).catch(() => 0);
        report = { ...report, pulled };
      }
    } finally {
      subscription.unsubscribe();
    }
    const message: SyncChannelMessage = {
      type: 'flushed',
      source: deps.source,
      reasons: request.reasons ?? [],
      report: toFlushReportMessage(report),
      serverEvents,
    };
    try {
      deps.channel?.postMessage(message);
    } catch {
      // A closed channel (context shutting down) must not turn a successful flush into a failure.
    }
    return report;
  };
  return createLockedFlush(once, { locks: deps.locks });
}

/** Outcomes after which entries are still pending for a reason that may pass: worth another attempt. */
export const isRetryableOutcome = (report: Pick<FlushReport, 'outcome'>): boolean =>
  report.outcome === 'transient-failure' || report.outcome === 'offline';
