import { type OpenAppDbOptions, openAppDb } from '../../src/app/schema';
import type { OutpostDb } from '../../src/outbox/page/database';
import { streamTypes } from '../../src/plugins';

/**
 * The app's database with its plug-ins loaded from the start, as a test that runs commands or syncs at once
 * needs it (the page defers them: `openAppDb`'s default, covered by the DOM tests through `createOutpost`).
 */
export const openTestDb = (options: Omit<OpenAppDbOptions, 'streamTypes'> = {}): OutpostDb =>
  openAppDb({ ...options, streamTypes });
