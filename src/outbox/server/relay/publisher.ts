import type { OutboxRow } from './outbox-rows';

/**
 * The broker as the relay sees it (NATS JetStream in the reference server): publishing one row resolves once
 * the broker has stored it, and says whether the broker dropped it as a duplicate of a message it already
 * holds under the same id (the row's eventId). Publishes are sent in call order on one connection.
 */
export interface Publisher {
  /** Resolves once the broker stored the row (or held it already); rejects when it may not have. */
  publish(row: OutboxRow): Promise<{ readonly duplicate: boolean }>;
  /** Makes the broker ready to store rows (creates the stream when missing); called again after a failure. */
  prepare(): Promise<void>;
}
