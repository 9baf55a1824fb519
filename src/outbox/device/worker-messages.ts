import * as v from 'valibot';

/**
 * Messages a page posts to the service worker (and the worker's answers, sent on the MessagePort that came
 * with the message). Shared by both sides so each checks what it receives with the same schema.
 */

export const FaultSettingsPatchSchema = v.record(v.string(), v.unknown());

export const WorkerRequestSchema = v.variant('type', [
  /** The page accepted "reload to update": the waiting worker activates now. */
  v.object({ type: v.literal('skip-waiting') }),
  /** Flush now, in the worker, under the same lock; answers the flush report. */
  v.object({ type: v.literal('sync-now') }),
  /** Demo builds: merge `settings` into the mock's fault control (omit to read); answers current settings. */
  v.object({ type: v.literal('demo:faults'), settings: v.optional(FaultSettingsPatchSchema) }),
  /** Demo builds: what the in-worker mock server stored, for tests and the demo's inspector. */
  v.object({ type: v.literal('demo:server-state') }),
]);
/** A message a page posts to the service worker (`WorkerRequestSchema`). */
export type WorkerRequest = v.InferOutput<typeof WorkerRequestSchema>;

export const WorkerReplySchema = v.variant('ok', [
  v.object({ ok: v.literal(true), value: v.unknown() }),
  v.object({ ok: v.literal(false), error: v.object({ code: v.string(), message: v.string() }) }),
]);
export type WorkerReply = v.InferOutput<typeof WorkerReplySchema>;

/** One client event as the demo server stored it, in arrival order (what the browser tests assert on). */
export interface DemoArrival {
  readonly eventId: string;
  readonly streamId: string;
  readonly version: number;
}

/** What a demo build's in-worker mock server stored, for tests and the demo's inspector. */
export interface DemoServerState {
  /** Every append the storage accepted, in the order it happened. */
  readonly arrivals: readonly DemoArrival[];
  /** Push requests that carried an event another request was still carrying (must stay empty). */
  readonly overlaps: readonly string[];
  readonly pushes: number;
  readonly stats: unknown;
}

/** The one-off Background Sync registration the page makes after each committed command. */
export const BACKGROUND_SYNC_TAG = 'outpost-outbox';

/** The Periodic Background Sync registration, where the browser grants it (`src/outbox/page/periodic-sync.ts`). */
export const PERIODIC_SYNC_TAG = 'outpost-outbox-periodic';
