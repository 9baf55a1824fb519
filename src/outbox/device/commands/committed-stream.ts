import type { DeliveryRow, OutboxRow, StoredClientEvent, StreamRow } from '../../storage/rows';
import type { ReadModelRows } from '../../stream-type';

/**
 * A stream's rows exactly as a command's transaction wrote them, announced once that transaction committed.
 * The open view of the stream shows them at once instead of waiting for Dexie's change notice and its own
 * read transaction (about as long again as the command: docs/performance.md, figure 7). Nothing here is a
 * guess: the rows are on disk when they are announced, and the live query's next read shows the same.
 */
export interface CommittedStream {
  readonly streamId: string;
  readonly stream: StreamRow;
  /** The stream type's read-model rows the commit wrote, by table (null: removed). */
  readonly rows: ReadModelRows;
  readonly delivery: DeliveryRow;
  /** Every outbox row of the stream after the commit (delivered rows are deleted, so: undelivered ones). */
  readonly outbox: readonly OutboxRow[];
  /** The events the commit appended to the stream. */
  readonly events: readonly StoredClientEvent[];
}
