import * as v from 'valibot';
import type { StoredServerEvent } from '../../storage/rows';

/**
 * The BroadcastChannel every context of the origin shares. Dexie's liveQuery already tells each page that
 * rows changed; this channel carries what liveQuery cannot: the flush report, and the server events a
 * flusher applied, so each page's EventBus can publish them (a stream type's decisions, which notifications
 * announce). Runs in pages and in the worker. Names no stream type: every stream type's decisions travel.
 */
export const SYNC_CHANNEL_NAME = 'outpost-sync';

const FlushReportMessageSchema = v.object({
  sent: v.number(),
  delivered: v.number(),
  dead: v.number(),
  retrying: v.number(),
  pulled: v.number(),
  outcome: v.picklist(['idle', 'drained', 'transient-failure', 'auth-required', 'offline']),
  nextAttemptAt: v.nullable(v.number()),
});
export type FlushReportMessage = v.InferOutput<typeof FlushReportMessageSchema>;

// Server events arrive as stored rows; only the envelope a subscriber dispatches on is checked here, the
// payload was validated against its stream type's schema when the flusher received it.
const StoredServerEventShape = v.looseObject({
  kind: v.literal('server'),
  eventId: v.string(),
  streamId: v.string(),
  serverSeq: v.number(),
  type: v.string(),
  data: v.record(v.string(), v.unknown()),
  occurredAt: v.string(),
});

export const SyncChannelMessageSchema = v.object({
  type: v.literal('flushed'),
  source: v.picklist(['worker', 'page']),
  /** What asked for the flush ('sync' for a Background Sync event, 'online', 'command', …). */
  reasons: v.array(v.string()),
  report: FlushReportMessageSchema,
  serverEvents: v.array(StoredServerEventShape),
});

export interface SyncChannelMessage {
  readonly type: 'flushed';
  readonly source: 'worker' | 'page';
  readonly reasons: readonly string[];
  readonly report: FlushReportMessage;
  readonly serverEvents: readonly StoredServerEvent[];
}

/** A message from the channel, or null when it is not one of ours. */
export function parseSyncChannelMessage(data: unknown): SyncChannelMessage | null {
  const parsed = v.safeParse(SyncChannelMessageSchema, data);
  if (!parsed.success) return null;
  return parsed.output as unknown as SyncChannelMessage;
}

/** A flush report that crossed a context boundary (a worker's answer to 'sync-now'), or null. */
export function parseFlushReport(data: unknown): FlushReportMessage | null {
  const parsed = v.safeParse(FlushReportMessageSchema, data);
  return parsed.success ? parsed.output : null;
}

export function toFlushReportMessage(report: FlushReportMessage): FlushReportMessage {
  const { sent, delivered, dead, retrying, pulled, outcome, nextAttemptAt } = report;
  return { sent, delivered, dead, retrying, pulled, outcome, nextAttemptAt };
}
