import { ordersOnServer } from './orders/server/stream-type';
import { createStreamTypes } from './outbox';
import { stockCountsOnServer } from './stockcount/server/stream-type';

/**
 * The app's plug-ins as its servers serve them (the reference server, the mock in the demo worker and the
 * tests): the same stream types as `src/plugins.ts`, each with its server policy. Only server composition
 * roots import this: clients never ship a server's rules or its data.
 */
export const serverStreamTypes = createStreamTypes([ordersOnServer, stockCountsOnServer]);
