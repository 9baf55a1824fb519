import type { OutboxDatabase } from '../../storage/outbox-database';
import type { StreamTypes } from '../../stream-types';
import { type Appended, type AppendRequest, appendCommands } from './append-commands';

/** What the command pipeline asks of storage. */
export interface CommandStorage {
  /** The app's stream types: a command finds its own by its `type`, and their read models are projected. */
  readonly streamTypes: StreamTypes;
  /**
   * Appends a command group: reads what the group's streams and commandIds have stored, lets `decide`
   * choose (pure, synchronous, inside the transaction), and writes the chosen events with their outbox rows,
   * command rows, snapshots, read models and delivery facts.
   */
  appendCommands<P>(request: AppendRequest<P>): Promise<Appended<P>>;
}

/** The command part of the storage port over a database (`outbox-storage.ts`). */
export function commandStorage(database: OutboxDatabase): CommandStorage {
  return {
    // Read when used: a page's database may still be loading its stream types when the port is made.
    get streamTypes() {
      return database.streamTypes;
    },
    appendCommands: (request) => appendCommands(database, request),
  };
}
