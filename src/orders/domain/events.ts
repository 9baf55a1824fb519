import * as v from 'valibot';
import { CurrencySchema } from './currency';
import {
  CustomerNameSchema,
  IsoTimestampSchema,
  LineCountSchema,
  MoneyTotalSchema,
  ProductNameSchema,
  QuantitySchema,
  ShortTextSchema,
  SkuSchema,
  UnitPriceSchema,
  UuidSchema,
} from './fields';

/**
 * Event payloads exactly as the sync protocol v1 defines them (docs/protocol.md). The same schemas check
 * what the client writes, what the server accepts and what arrives from the server.
 */

export const OrderCreatedData = v.strictObject({
  orderId: UuidSchema,
  customerName: CustomerNameSchema,
  currency: CurrencySchema,
  /** Optional (a compatible extension of v1): the order this one was copied from. */
  copiedFrom: v.optional(UuidSchema),
});
export const ProductAddedData = v.strictObject({
  sku: SkuSchema,
  name: ProductNameSchema,
  quantity: QuantitySchema,
  unitPrice: UnitPriceSchema,
});
export const ProductRemovedData = v.strictObject({ sku: SkuSchema });
export const OrderPlacedData = v.strictObject({ total: MoneyTotalSchema, lineCount: LineCountSchema });
export const OrderCancelledData = v.strictObject({ reason: ShortTextSchema });

export const OrderConfirmedData = v.strictObject({
  orderNumber: v.pipe(v.string(), v.regex(/^SO-\d{6,}$/, 'Order number looks like SO-000042')),
  confirmedAt: IsoTimestampSchema,
});
/** The most skus a rejection names; an order holding more is still rejected, naming the first ones. */
export const MAX_NAMED_SKUS = 100;

export const OrderRejectedData = v.strictObject({
  code: ShortTextSchema,
  reason: ShortTextSchema,
  /** Optional (a compatible extension of v1): the lines the rejection is about, by sku. */
  skus: v.optional(v.pipe(v.array(SkuSchema), v.maxLength(MAX_NAMED_SKUS))),
});

/** Events the client writes and publishes through the outbox. */
export const ClientEventSchema = v.variant('type', [
  v.strictObject({ type: v.literal('OrderCreated'), data: OrderCreatedData }),
  v.strictObject({ type: v.literal('ProductAdded'), data: ProductAddedData }),
  v.strictObject({ type: v.literal('ProductRemoved'), data: ProductRemovedData }),
  v.strictObject({ type: v.literal('OrderPlaced'), data: OrderPlacedData }),
  v.strictObject({ type: v.literal('OrderCancelled'), data: OrderCancelledData }),
]);

/** Decisions only the server makes; stored locally, never sent. */
export const ServerEventSchema = v.variant('type', [
  v.strictObject({ type: v.literal('OrderConfirmed'), data: OrderConfirmedData }),
  v.strictObject({ type: v.literal('OrderRejected'), data: OrderRejectedData }),
]);

export type ClientOrderEvent = v.InferOutput<typeof ClientEventSchema>;
export type ServerOrderEvent = v.InferOutput<typeof ServerEventSchema>;
export type OrderEvent = ClientOrderEvent | ServerOrderEvent;

export type ClientEventType = ClientOrderEvent['type'];
export type ServerEventType = ServerOrderEvent['type'];
export type OrderEventType = OrderEvent['type'];

export const CLIENT_EVENT_TYPES = [
  'OrderCreated',
  'ProductAdded',
  'ProductRemoved',
  'OrderPlaced',
  'OrderCancelled',
] as const satisfies readonly ClientEventType[];
export const SERVER_EVENT_TYPES = [
  'OrderConfirmed',
  'OrderRejected',
] as const satisfies readonly ServerEventType[];

/** Every payload is at schema version 1 in protocol v1; bump per type when a payload changes shape. */
export const EVENT_SCHEMA_VERSION = 1;

export const isClientEvent = (event: OrderEvent): event is ClientOrderEvent =>
  (CLIENT_EVENT_TYPES as readonly string[]).includes(event.type);
