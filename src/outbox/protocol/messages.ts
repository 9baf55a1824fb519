import * as v from 'valibot';
import {
  OrderCancelledData,
  OrderConfirmedData,
  OrderCreatedData,
  OrderPlacedData,
  OrderRejectedData,
  ProductAddedData,
  ProductRemovedData,
} from '../../orders/domain/events';
import { IsoTimestampSchema, UuidSchema } from '../../orders/domain/fields';

/**
 * Sync protocol v1 (docs/protocol.md): one schema per wire message, shared by the client's sync engine,
 * the MSW mock and the reference server. Nothing crosses the wire without passing one of these.
 */

import { MAX_BATCH_EVENTS, MAX_PULL_EVENTS, PROTOCOL_VERSION } from './limits';

export { MAX_BATCH_BYTES, MAX_BATCH_EVENTS, MAX_PULL_EVENTS, PROTOCOL_VERSION } from './limits';

export const StreamIdSchema = v.pipe(
  v.string(),
  v.regex(
    /^order-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i,
    'streamId is order-<uuid>',
  ),
);

export const EventMetadataSchema = v.strictObject({
  commandId: UuidSchema,
  correlationId: UuidSchema,
  causationId: v.nullable(UuidSchema),
  occurredAt: IsoTimestampSchema,
  clientId: UuidSchema,
});

const clientEventEnvelope = {
  eventId: UuidSchema,
  streamId: StreamIdSchema,
  version: v.pipe(v.number(), v.safeInteger(), v.minValue(1)),
  schemaVersion: v.literal(1),
  metadata: EventMetadataSchema,
};

/** An event written by a client, as it travels in a push. */
export const WireClientEventSchema = v.variant('type', [
  v.strictObject({ ...clientEventEnvelope, type: v.literal('OrderCreated'), data: OrderCreatedData }),
  v.strictObject({ ...clientEventEnvelope, type: v.literal('ProductAdded'), data: ProductAddedData }),
  v.strictObject({ ...clientEventEnvelope, type: v.literal('ProductRemoved'), data: ProductRemovedData }),
  v.strictObject({ ...clientEventEnvelope, type: v.literal('OrderPlaced'), data: OrderPlacedData }),
  v.strictObject({ ...clientEventEnvelope, type: v.literal('OrderCancelled'), data: OrderCancelledData }),
]);
export type WireClientEvent = v.InferOutput<typeof WireClientEventSchema>;
export type EventMetadata = v.InferOutput<typeof EventMetadataSchema>;

const serverEventEnvelope = {
  eventId: UuidSchema,
  streamId: StreamIdSchema,
  serverSeq: v.pipe(v.number(), v.safeInteger(), v.minValue(1)),
  occurredAt: IsoTimestampSchema,
};

/** A decision written by the server. */
export const WireServerEventSchema = v.variant('type', [
  v.object({ ...serverEventEnvelope, type: v.literal('OrderConfirmed'), data: OrderConfirmedData }),
  v.object({ ...serverEventEnvelope, type: v.literal('OrderRejected'), data: OrderRejectedData }),
]);
export type WireServerEvent = v.InferOutput<typeof WireServerEventSchema>;

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

/** Codes named by protocol v1; servers may add codes, so clients accept any short string. */
export type PushResultCode = 'conflict' | 'gap' | 'version_conflict' | 'invalid' | 'blocked' | (string & {});

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

export { orderIdOf, streamIdOf } from '../../orders/stream-ids';
