/** Stock counts' stream type name: a count's stream is `stockcount-<countId>`. */
export const STOCKCOUNT = 'stockcount';

/**
 * A count's event stream is named after it. Kept apart from the schemas so a view that only maps ids does
 * not pull every schema in with it.
 */
export const streamIdOf = (countId: string): string => `${STOCKCOUNT}-${countId}`;
export const countIdOf = (streamId: string): string => streamId.slice(STOCKCOUNT.length + 1);
