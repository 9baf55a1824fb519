import * as v from 'valibot';

/** Field schemas shared by commands and events, so the form, the outbox and the server apply the same limits. */

export { IsoTimestampSchema, ReasonSchema, ShortTextSchema, UuidSchema } from '../../outbox';

/** The most a shelf can hold of one sku; a larger figure is a typing slip, not a count. */
export const MAX_COUNTED_QUANTITY = 99_999;

/**
 * The most lines one count holds. A count covers one location, so a few hundred skus is already a big
 * stockroom; the bound keeps a `CountSubmitted` (which carries every line) far below a push's size limit.
 */
export const MAX_LINES = 500;

/** The same format as an order's sku, so a product reads the same in both. */
export const SkuSchema = v.pipe(
  v.string('SKU is required'),
  v.regex(/^[A-Z0-9-]{1,32}$/, 'SKU is 1 to 32 capital letters, digits or dashes'),
);

/**
 * A location is the short code printed on the shelf or stockroom label (`WH-01`, `STORE-02`), not a
 * free-text name: two people counting the same place must produce the same value, or the server compares
 * against the wrong expected stock.
 */
export const LocationSchema = v.pipe(
  v.string('Location is required'),
  v.regex(
    /^[A-Z0-9][A-Z0-9-]{1,15}$/,
    'Location is a code like WH-01: 2 to 16 capital letters, digits or dashes, not starting with a dash',
  ),
);

/** Zero is a count too: the shelf was checked and held none. */
export const CountedQuantitySchema = v.pipe(
  v.number('Quantity must be a number'),
  v.integer('Quantity must be a whole number'),
  v.minValue(0, 'Quantity cannot be negative'),
  v.maxValue(MAX_COUNTED_QUANTITY, `Quantity must be at most ${MAX_COUNTED_QUANTITY}`),
);
