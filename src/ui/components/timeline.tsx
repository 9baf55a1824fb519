import type { OutboxEntry, StoredEvent } from '../../outbox/page';
import { deliveryStateOf } from '../../outbox/page';
import { formatClock } from '../format';
import { DeliveryBadge } from './delivery-badge';
import { type Origins, originText, refusalText } from './event-origin';

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
  origins,
}: {
  readonly events: readonly StoredEvent[];
  readonly outbox: readonly OutboxEntry[];
  readonly discardedFromVersion: number | undefined;
  readonly describe: (event: StoredEvent) => string;
  /** Who wrote each event: this device, or another one the feed named. */
  readonly origins: Origins;
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
              <EventSummary event={event} describe={describe} origins={origins} />
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

function EventSummary({
  event,
  describe,
  origins,
}: {
  readonly event: StoredEvent;
  readonly describe: (event: StoredEvent) => string;
  readonly origins: Origins;
}) {
  if (event.kind === 'local' && event.type === 'CommandRefused') {
    const text = refusalText(event, describe, origins);
    return (
      <p className="timeline__summary">
        {text.what} no longer applies: {text.why}. {text.first}
      </p>
    );
  }
  const origin = originText(event, origins);
  return (
    <>
      <p className="timeline__summary">{event.kind === 'unread' ? event.type : describe(event)}</p>
      {origin ? <p className="timeline__origin muted">{origin}</p> : null}
    </>
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
  if (event.kind === 'unread') return <span className="badge">Needs an update</span>;
  // Delivered rows are deleted from the outbox: an event without a row has nothing left to send.
  return <DeliveryBadge status={deliveryStateOf(row, { version: event.version, discardedFromVersion })} />;
}
