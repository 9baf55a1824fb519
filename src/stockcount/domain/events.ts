import * as v from 'valibot';
import {
  CountedQuantitySchema,
  IsoTimestampSchema,
  LocationSchema,
  MAX_LINES,
  ShortTextSchema,
  SkuSchema,
  UuidSchema,
} from './fields';

/**
 * Event payloads of a stock count's stream. The same schemas check what the client writes, what the server
 * accepts and what arrives from the server.
 */

export const CountLineSchema = v.strictObject({ sku: SkuSchema, quantity: CountedQuantitySchema });

export const CountStartedData = v.strictObject({ countId: UuidSchema, location: LocationSchema });
/** The line's quantity from now on: a recount replaces, so folding never adds figures up. */
export const QuantityRecordedData = v.strictObject({ sku: SkuSchema, quantity: CountedQuantitySchema });
export const LineRemovedData = v.strictObject({ sku: SkuSchema });
/**
 * The sheet as the person submitted it. The server decides on exactly these figures and checks them against
 * the lines it folded itself, so a count is never judged on lines the person did not see.
 */
export const CountSubmittedData = v.strictObject({
  lines: v.pipe(
    v.array(CountLineSchema),
    v.minLength(1, 'A submitted count has at least one line'),
    v.maxLength(MAX_LINES, `A count has at most ${MAX_LINES} lines`),
    v.check(
      (lines) => new Set(lines.map((line) => line.sku)).size === lines.length,
      'Each sku is on a count at most once',
    ),
  ),
});
export const CountAbandonedData = v.strictObject({ reason: ShortTextSchema });

export const CountNumberSchema = v.pipe(
  v.string(),
  v.regex(/^SC-\d{6,}$/, 'Count number looks like SC-000042'),
);
export const CountAcceptedData = v.strictObject({
  countNumber: CountNumberSchema,
  acceptedAt: IsoTimestampSchema,
});
/** `skus` names the lines to recount; empty when the refusal is about the count as a whole. */
export const CountRejectedData = v.strictObject({
  code: ShortTextSchema,
  reason: ShortTextSchema,
  skus: v.pipe(v.array(SkuSchema), v.maxLength(MAX_LINES)),
});

/** Events the client writes and publishes through the outbox. */
export const ClientEventSchema = v.variant('type', [
  v.strictObject({ type: v.literal('CountStarted'), data: CountStartedData }),
  v.strictObject({ type: v.literal('QuantityRecorded'), data: QuantityRecordedData }),
  v.strictObject({ type: v.literal('LineRemoved'), data: LineRemovedData }),
  v.strictObject({ type: v.literal('CountSubmitted'), data: CountSubmittedData }),
  v.strictObject({ type: v.literal('CountAbandoned'), data: CountAbandonedData }),
]);

/** Decisions only the server makes; stored locally, never sent. */
export const ServerEventSchema = v.variant('type', [
  v.strictObject({ type: v.literal('CountAccepted'), data: CountAcceptedData }),
  v.strictObject({ type: v.literal('CountRejected'), data: CountRejectedData }),
]);

export type CountLine = v.InferOutput<typeof CountLineSchema>;
export type ClientStockCountEvent = v.InferOutput<typeof ClientEventSchema>;
export type ServerStockCountEvent = v.InferOutput<typeof ServerEventSchema>;
export type StockCountEvent = ClientStockCountEvent | ServerStockCountEvent;

export type ClientEventType = ClientStockCountEvent['type'];
export type ServerEventType = ServerStockCountEvent['type'];
