/** Orders' stream type name: an order's stream is `order-<orderId>` (protocol v1). */
export const ORDER = 'order';

/**
 * An order's event stream is named after it. Kept apart from the wire schemas so a view that only maps ids
 * (the orders list, in the first screen's bundle) does not pull every schema in with it.
 */
export const streamIdOf = (orderId: string): string => `${ORDER}-${orderId}`;
export const orderIdOf = (streamId: string): string => streamId.slice(ORDER.length + 1);
