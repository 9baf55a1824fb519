import { orders } from './orders/stream-type';
import { createStreamTypes } from './outbox';
import { stockCounts } from './stockcount/stream-type';

/**
 * The app's plug-ins: the stream types this app is made of. The page, the service worker, the demo mock and the reference
 * server are each composed from this one list, so every side reads a stream the same way. A new stream type
 * goes here, with a new database layout version (src/app/schema.ts) for its read-model tables.
 */
export const streamTypes = createStreamTypes([orders, stockCounts]);
