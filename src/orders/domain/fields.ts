import * as v from 'valibot';
import { MAX_TEXT } from '../../outbox';

/** Field schemas shared by commands, events and wire messages, so every boundary applies the same limits. */

export const MAX_QUANTITY = 999;
export const MAX_UNIT_PRICE = 100_000_000;
export { IsoTimestampSchema, MAX_TEXT, ReasonSchema, ShortTextSchema, UuidSchema } from '../../outbox';

export const CustomerNameSchema = v.pipe(
  v.string('Customer name is required'),
  v.trim(),
  v.minLength(1, 'Customer name is required'),
  v.maxLength(MAX_TEXT, `Customer name is at most ${MAX_TEXT} characters`),
);

export const SkuSchema = v.pipe(
  v.string('SKU is required'),
  v.regex(/^[A-Z0-9-]{1,32}$/, 'SKU is 1 to 32 capital letters, digits or dashes'),
);

export const ProductNameSchema = v.pipe(
  v.string('Product name is required'),
  v.minLength(1, 'Product name is required'),
  v.maxLength(MAX_TEXT, `Product name is at most ${MAX_TEXT} characters`),
);

export const QuantitySchema = v.pipe(
  v.number('Quantity must be a number'),
  v.integer('Quantity must be a whole number'),
  v.minValue(1, 'Quantity must be at least 1'),
  v.maxValue(MAX_QUANTITY, `Quantity must be at most ${MAX_QUANTITY}`),
);

export const UnitPriceSchema = v.pipe(
  v.number('Price must be a number'),
  v.integer('Price is in minor units (cents) and must be a whole number'),
  v.minValue(0, 'Price cannot be negative'),
  v.maxValue(MAX_UNIT_PRICE, `Price must be at most ${MAX_UNIT_PRICE} minor units`),
);

export const MoneyTotalSchema = v.pipe(
  v.number('Total must be a number'),
  v.safeInteger('Total is in minor units and must be a whole number'),
  v.minValue(0, 'Total cannot be negative'),
);

export const LineCountSchema = v.pipe(v.number(), v.safeInteger(), v.minValue(0));
