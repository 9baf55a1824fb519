import type { OutboxDatabase } from '../storage/outbox-database';
import { type CommandStorage, commandStorage } from './commands/command-storage';
import { rebuildReadModels } from './read-models/rebuild';
import { type RetentionStorage, retentionStorage } from './read-models/retention';
import { type DeadLetterStorage, deadLetterStorage } from './sync/dead-letters';
import { type AccountStorage, accountStorage } from './sync/sign-in';
import { type StatusStorage, statusStorage } from './sync/sync-facts';
import { type SyncStorage, syncStorage } from './sync/sync-storage';

export type { CommandStorage } from './commands/command-storage';
export type { RetentionStorage } from './read-models/retention';
export type { DeadLetterStorage } from './sync/dead-letters';
export type { AccountStorage } from './sync/sign-in';
export type { StatusStorage } from './sync/sync-facts';
export type { SyncStorage } from './sync/sync-storage';

/**
 * The outbox's storage port: what the outbox does with its database, one operation per call, each one
 * transaction (everything it reads and writes commits together or not at all), in the outbox's own words.
 * Written once over an `OutboxDatabase` (the records a storage adapter provides); the pages' Dexie database
 * and the worker's plain IndexedDB one are its two adapters, and `test/unit/idb/outbox-storage-contract.ts`
 * holds both to the same contract.
 *
 * Each user of the port takes only its facet: the sync engine `SyncStorage`, the command pipeline
 * `CommandStorage`, the status `StatusStorage`, the dead-letter actions `DeadLetterStorage`, sign-in
 * `AccountStorage`, retention `RetentionStorage`. Each facet has its own factory, so a bundle carries only
 * the operations its facets name (the service worker: `syncStorage`), and a test hands a user a fake of its
 * facet. `OutboxStorage` is all of them.
 *
 * Time and ids enter as data (`now`, `newId`), so an operation never reads a clock of its own.
 */

/** Everything the outbox does with storage. */
export interface OutboxStorage
  extends SyncStorage,
    CommandStorage,
    StatusStorage,
    DeadLetterStorage,
    AccountStorage,
    RetentionStorage {
  /** The read models, snapshots and delivery facts thrown away and replayed from the event store. */
  rebuildReadModels(pageSize?: number): Promise<void>;
}

export function outboxStorage(database: OutboxDatabase): OutboxStorage {
  const commands = commandStorage(database);
  return {
    ...syncStorage(database),
    get streamTypes() {
      return commands.streamTypes;
    },
    appendCommands: commands.appendCommands,
    ...statusStorage(database),
    ...deadLetterStorage(database),
    ...accountStorage(database),
    ...retentionStorage(database),
    rebuildReadModels: (pageSize) => rebuildReadModels(database, pageSize),
  };
}
