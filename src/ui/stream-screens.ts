import { orderScreens } from '../orders/page';
import { stockCountScreens } from '../stockcount/page';
import { createStreamScreens } from './stream-ui';

/**
 * The app's stream types as its UI shows them: one entry per stream type, each its plug-in's `page/index.tsx`
 * (routes, screens, navigation, notification text). A new stream type adds its line here.
 */
export const streamScreens = createStreamScreens([orderScreens, stockCountScreens]);
