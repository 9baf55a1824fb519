import * as v from 'valibot';
import { IsoTimestampSchema, UuidSchema } from '../fields';
import { err, ok, type Result } from '../result';
import { type StreamTypes, splitStreamId } from '../stream-types';
import { MAX_BATCH_EVENTS, MAX_PULL_EVENTS, PROTOCOL_VERSION } from './limits';

export { MAX_BATCH_BYTES, MAX_BATCH_EVENTS, MAX_PULL_EVENTS, PROTOCOL_VERSION } from './limits';

/**
 * Sync protocol v1 (docs/protocol.md), with its compatible extension to any stream type: one schema per wire
 * message, shared by the client's sync engine, the MSW mock and the reference server. The envelope is the
 * core's; an event's `type` and `data` are its stream type's, checked by that type's own schemas
 * (`parseClientEvent`, `parseServerEvent`). Nothing crosses the wire without passing both.
 */

/** `<streamType>-<uuid>`: `order-…` is protocol v1's only one; others are the extension's. */
export const StreamIdSchema = v.pipe(
  v.string(),
  v.check((value) => splitStreamId(value) !== null, 'streamId is <stream type>-<uuid>'),
);

export const EventMetadataSchema = v.strictObject({
  commandId: UuidSchema,
  correlationId: UuidSchema,
  causationId: v.nullable(UuidSchema),
  occurredAt: IsoTimestampSchema,
  clientId: UuidSchema,
});
export type EventMetadata = v.InferOutput<typeof EventMetadataSchema>;

/** A client event's envelope; `type` and `data` are checked against the stream type by `parseClientEvent`. */
export const WireClientEventSchema = v.strictObject({
  eventId: UuidSchema,
  streamId: StreamIdSchema,
  version: v.pipe(v.number(), v.safeInteger(), v.minValue(1)),
  type: v.pipe(v.string(), v.minLength(1), v.maxLength(100)),
  schemaVersion: v.literal(1),
  data: v.unknown(),
  metadata: EventMetadataSchema,
});
/** A client event as it travels in a push: the envelope, its stream type's `type` and `data`. */
export type WireClientEvent = v.InferOutput<typeof WireClientEventSchema>;

/** A decision written by the server; `type` and `data` are checked by `parseServerEvent`. */
export const WireServerEventSchema = v.object({
  eventId: UuidSchema,
  streamId: StreamIdSchema,
  serverSeq: v.pipe(v.number(), v.safeInteger(), v.minValue(1)),
  type: v.pipe(v.string(), v.minLength(1), v.maxLength(100)),
  data: v.unknown(),
  occurredAt: IsoTimestampSchema,
});
/** A server decision as it travels in a push answer or a pull page. */
export type WireServerEvent = v.InferOutput<typeof WireServerEventSchema>;

/** Why an event is refused: the push answer's `rejected` code and reason. */
export interface EventRefusal {
  /** `invalid` (protocol v1) or `unknown_stream_type` (the extension: a type this server does not serve). */
  readonly code: 'invalid' | 'unknown_stream_type';
  readonly reason: string;
}

/** Field-level issues in one line of at most 200 characters, as a push answer's `reason` carries them. */
export function describeIssues(issues: readonly v.BaseIssue<unknown>[]): string {
  const text = issues
    .map((issue) => {
      const path = v.getDotPath(issue);
      return path ? `${path}: ${issue.message}` : issue.message;
    })
    .join('; ');
  return text.length > 200 ? `${text.slice(0, 197)}...` : text;
}

/**
 * A client event checked whole: the envelope, then `{ type, data }` by its stream type's event schema. The
 * stream id names the type; one this app has no type for is refused as `unknown_stream_type`.
 */
export function parseClientEvent(types: StreamTypes, raw: unknown): Result<WireClientEvent, EventRefusal> {
  const envelope = v.safeParse(WireClientEventSchema, raw);
  if (!envelope.success) return err({ code: 'invalid', reason: describeIssues(envelope.issues) });
  const event = envelope.output;
  const stream = types.parse(event.streamId);
  if (!stream) {
    return err({
      code: 'unknown_stream_type',
      reason: `This server keeps no streams of type ${splitStreamId(event.streamId)?.name ?? '?'}`,
    });
  }
  const payload = v.safeParse(stream.type.events, { type: event.type, data: event.data });
  if (!payload.success) return err({ code: 'invalid', reason: describeIssues(payload.issues) });
  const checked = payload.output as { type: string; data: unknown };
  return ok({ ...event, type: checked.type, data: checked.data });
}

/** A server event checked whole, as the client receives it; null when it breaks the contract. */
export function parseServerEvent(types: StreamTypes, raw: unknown): WireServerEvent | null {
  const envelope = v.safeParse(WireServerEventSchema, raw);
  if (!envelope.success) return null;
  const event = envelope.output;
  const stream = types.parse(event.streamId);
  if (!stream) return null;
  const payload = v.safeParse(stream.type.serverEvents, { type: event.type, data: event.data });
  if (!payload.success) return null;
  const checked = payload.output as { type: string; data: unknown };
  return { ...event, type: checked.type, data: checked.data };
}

/**
 * The push envelope. `events` is only checked to be an array here: each event is validated on its own
 * (a bad event is `rejected: invalid`, not a `400` for the batch), and the batch limits are a `413`.
 */
export const PushRequestEnvelopeSchema = v.object({
  protocol: v.literal(PROTOCOL_VERSION, 'protocol must be 1'),
  clientId: UuidSchema,
  batchId: UuidSchema,
  events: v.pipe(v.array(v.unknown()), v.minLength(1, 'A push carries at least one event')),
});

/** A push as the client builds it. */
export const PushRequestSchema = v.object({
  protocol: v.literal(PROTOCOL_VERSION),
  clientId: UuidSchema,
  batchId: UuidSchema,
  events: v.pipe(v.array(WireClientEventSchema), v.minLength(1), v.maxLength(MAX_BATCH_EVENTS)),
});
export type PushRequest = v.InferOutput<typeof PushRequestSchema>;

export const PUSH_STATUSES = ['accepted', 'duplicate', 'rejected', 'retry'] as const;
export type PushStatus = (typeof PUSH_STATUSES)[number];

/** Codes named by protocol v1 and its extension; servers may add codes, so clients accept any short string. */
export type PushResultCode =
  | 'conflict'
  | 'gap'
  | 'version_conflict'
  | 'invalid'
  | 'blocked'
  | 'forbidden'
  | 'unknown_stream_type'
  | (string & {});

export const PushResultSchema = v.object({
  eventId: v.string(),
  status: v.picklist(PUSH_STATUSES),
  code: v.optional(v.string()),
  reason: v.optional(v.string()),
});
export type PushResult = v.InferOutput<typeof PushResultSchema>;

export const PushResponseSchema = v.object({
  protocol: v.literal(PROTOCOL_VERSION),
  results: v.array(PushResultSchema),
  serverEvents: v.array(WireServerEventSchema),
});
export type PushResponse = v.InferOutput<typeof PushResponseSchema>;

export const PullResponseSchema = v.object({
  protocol: v.literal(PROTOCOL_VERSION),
  serverEvents: v.pipe(v.array(WireServerEventSchema), v.maxLength(MAX_PULL_EVENTS)),
  cursor: v.string(),
  hasMore: v.boolean(),
});
export type PullResponse = v.InferOutput<typeof PullResponseSchema>;

export const ErrorBodySchema = v.object({
  error: v.object({ code: v.string(), message: v.string() }),
});
export type ErrorBody = v.InferOutput<typeof ErrorBodySchema>;

export const HealthResponseSchema = v.object({ status: v.literal('ok') });
