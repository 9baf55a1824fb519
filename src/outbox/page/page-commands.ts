import {
  type CommandPipeline,
  type CommandPipelineDeps,
  createCommandPipeline,
} from '../device/commands/command-pipeline';
import { commandStorage } from '../device/commands/command-storage';
import { announceCommitted } from './committed-views';
import type { OutpostDb } from './database';

/** What a page's pipeline takes besides its database. */
export type PageCommandDeps = Omit<CommandPipelineDeps, 'storage' | 'onCommitted'> & {
  readonly db: OutpostDb;
};

/**
 * The command pipeline as a page runs it: over the storage port of its Dexie database, each commit announced
 * to that database's open stream views so they show it without a second read (`committed-views.ts`).
 */
export function createPageCommandPipeline({ db, ...deps }: PageCommandDeps): CommandPipeline {
  return createCommandPipeline({
    ...deps,
    storage: commandStorage(db),
    onCommitted: (stream) => announceCommitted(db, stream),
  });
}
