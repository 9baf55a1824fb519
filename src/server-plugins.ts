import { orderReactions } from './orders/server/reactions';
import { ordersOnServer } from './orders/server/stream-type';
import { type AnyStreamReactions, createStreamTypes } from './outbox';
import { stockCountReactions } from './stockcount/server/reactions';
import { stockCountsOnServer } from './stockcount/server/stream-type';

/**
 * The app's plug-ins as its servers serve them (the reference server, the mock in the demo worker and the
 * tests): the same stream types as `src/plugins.ts`, each with its server policy. Only server composition
 * roots import this: clients never ship a server's rules or its data.
 */
export const serverStreamTypes = createStreamTypes([ordersOnServer, stockCountsOnServer]);

/**
 * What the server outbox's services (notifications, analytics) do with each stream type's events: one entry
 * per plug-in that reacts (docs/server-outbox.md). Only server composition roots import this.
 */
export const serverReactions: readonly AnyStreamReactions[] = [orderReactions, stockCountReactions];
