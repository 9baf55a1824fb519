import { orderLayout } from './orders/layout';
import type { DeferredStreamTypes } from './outbox';
import { stockCountLayout } from './stockcount/layout';

/**
 * The app's plug-ins as the page opens its database: their tables now, their code (`src/plugins.ts`) when a
 * command, a sync or a stream's screen first needs it. Same plug-ins, same order as `src/plugins.ts`; the
 * database refuses stream types that do not match (test/unit/plugins.test.ts checks it too).
 */
export const deferredPlugins: DeferredStreamTypes = {
  layouts: [orderLayout, stockCountLayout],
  load: () => import('./plugins').then(({ streamTypes }) => streamTypes),
};
