import type { OutboxEntry, StoredEvent } from '../../outbox/page';
import { deliveryStateOf } from '../../outbox/page';
import { formatClock } from '../format';
import { DeliveryBadge } from './delivery-badge';

/**
 * A stream's events in the order they were stored, each with where it is: on this device (and why it
 * waits), sent, delivered, or a decision from the server. Every stream type's screen shows its timeline with
 * this; only the one line that says what an event means (`describe`) is the stream type's own.
 */
export function Timeline({
  events,
  outbox,
  discardedFromVersion,
  describe,
}: {
  readonly events: readonly StoredEvent[];
  readonly outbox: readonly OutboxEntry[];
  readonly discardedFromVersion: number | undefined;
  readonly describe: (event: StoredEvent) => string;
}) {
  const rows = new Map(outbox.map((row) => [row.eventId, row]));
  const firstDead = outbox
    .filter((row) => row.status === 'dead')
    .reduce<number | null>(
      (first, row) => (first === null ? row.version : Math.min(first, row.version)),
      null,
    );
  return (
    <div className="card">
      <h2 id="timeline-heading">Timeline</h2>
      <ol className="timeline" aria-labelledby="timeline-heading">
        {events.map((event) => {
          const row = rows.get(event.eventId);
          return (
            <li key={event.eventId} className={`timeline__entry timeline__entry--${event.kind}`}>
              <div className="timeline__head">
                <strong>{event.type}</strong>
                <span className="muted">
                  {event.kind === 'client' ? `v${event.version}` : null}
                  {event.kind === 'server' ? `server #${event.serverSeq}` : null}
                </span>
                <time dateTime={event.occurredAt}>{formatClock(Date.parse(event.occurredAt))}</time>
                <EventDelivery event={event} row={row} discardedFromVersion={discardedFromVersion} />
              </div>
              <p className="timeline__summary">{describe(event)}</p>
              {row && row.status === 'pending' && firstDead !== null && firstDead < row.version ? (
                <p className="timeline__delivery muted">Waits for v{firstDead}, which needs attention</p>
              ) : null}
              {row && (row.attempts > 0 || row.lastError) ? (
                <p className="timeline__delivery muted">
                  {row.attempts} {row.attempts === 1 ? 'attempt' : 'attempts'}
                  {row.lastError ? ` · last error: ${row.lastError}` : ''}
                  {row.status === 'dead' && row.deadCode ? ` · ${row.deadCode}` : ''}
                </p>
              ) : null}
            </li>
          );
        })}
      </ol>
    </div>
  );
}

function EventDelivery({
  event,
  row,
  discardedFromVersion,
}: {
  readonly event: StoredEvent;
  readonly row: OutboxEntry | undefined;
  readonly discardedFromVersion: number | undefined;
}) {
  if (event.kind === 'server') return <span className="badge badge--delivery-server">From server</span>;
  if (event.kind === 'local') return <span className="badge">On this device</span>;
  // Delivered rows are deleted from the outbox: an event without a row has nothing left to send.
  return <DeliveryBadge status={deliveryStateOf(row, { version: event.version, discardedFromVersion })} />;
}
