import * as v from 'valibot';
import { type Result, type ValidationError, validate } from '../../outbox';
import { CurrencySchema } from './currency';
import {
  CustomerNameSchema,
  ProductNameSchema,
  QuantitySchema,
  ReasonSchema,
  SkuSchema,
  UnitPriceSchema,
  UuidSchema,
} from './fields';

export const CreateOrderSchema = v.strictObject({
  type: v.literal('CreateOrder'),
  orderId: UuidSchema,
  customerName: CustomerNameSchema,
  currency: CurrencySchema,
  /** The order this one copies (out of a rejection or a cancellation): a link, never a constraint. */
  copiedFrom: v.optional(UuidSchema),
});

export const AddProductSchema = v.strictObject({
  type: v.literal('AddProduct'),
  orderId: UuidSchema,
  sku: SkuSchema,
  name: ProductNameSchema,
  quantity: QuantitySchema,
  unitPrice: UnitPriceSchema,
});

/** Sets a line's quantity; on the wire it is a ProductRemoved followed by a ProductAdded. */
export const ChangeQuantitySchema = v.strictObject({
  type: v.literal('ChangeQuantity'),
  orderId: UuidSchema,
  sku: SkuSchema,
  quantity: QuantitySchema,
});

export const RemoveProductSchema = v.strictObject({
  type: v.literal('RemoveProduct'),
  orderId: UuidSchema,
  sku: SkuSchema,
});

export const PlaceOrderSchema = v.strictObject({ type: v.literal('PlaceOrder'), orderId: UuidSchema });

export const CancelOrderSchema = v.strictObject({
  type: v.literal('CancelOrder'),
  orderId: UuidSchema,
  reason: ReasonSchema,
});

export const CommandSchema = v.variant(
  'type',
  [
    CreateOrderSchema,
    AddProductSchema,
    ChangeQuantitySchema,
    RemoveProductSchema,
    PlaceOrderSchema,
    CancelOrderSchema,
  ],
  (issue) =>
    `Unknown command type ${JSON.stringify(issue.received === 'undefined' ? undefined : issue.input)}`,
);

export type CreateOrder = v.InferOutput<typeof CreateOrderSchema>;
export type AddProduct = v.InferOutput<typeof AddProductSchema>;
export type ChangeQuantity = v.InferOutput<typeof ChangeQuantitySchema>;
export type RemoveProduct = v.InferOutput<typeof RemoveProductSchema>;
export type PlaceOrder = v.InferOutput<typeof PlaceOrderSchema>;
export type CancelOrder = v.InferOutput<typeof CancelOrderSchema>;
export type OrderCommand = v.InferOutput<typeof CommandSchema>;
export type OrderCommandType = OrderCommand['type'];

/** The boundary check for anything that claims to be a command: a typed command or field-level issues. */
export const parseCommand = (input: unknown): Result<OrderCommand, ValidationError> =>
  validate(CommandSchema, input);
