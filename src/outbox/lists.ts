/**
 * The outbox core's public entry for a stream type's lists: its read-model table and its streams' deliveries,
 * read the way every list shows them. Apart from `views.ts` (one stream's live view) so the first screen,
 * which only lists, loads neither the live stream view nor anything else a stream's screen needs.
 */
export type { DeliveryRow, OutpostDb, StoredEvent, StoredSyncState } from './client/db';
export { readModelTable } from './client/db';
export type { DeliveryView } from './client/outbox-view';
export { type DeliveryViews, readDeliveryViews } from './client/queries';
