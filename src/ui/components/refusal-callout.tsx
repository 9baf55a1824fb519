import type { StoredEvent, StoredRefusalRecord } from '../../outbox/page';
import { type Origins, refusalText } from './event-origin';

/**
 * This device's changes that no longer apply: another device changed the same order or count first, and
 * deciding them again on what it did refused them. Each says what it was, why, and what happened where
 * first; the timeline keeps them. Nothing when there are none.
 */
export function RefusalCallout({
  events,
  describe,
  origins,
}: {
  readonly events: readonly StoredEvent[];
  readonly describe: (event: StoredEvent) => string;
  readonly origins: Origins;
}) {
  const refusals = events.filter(
    (event): event is StoredRefusalRecord => event.kind === 'local' && event.type === 'CommandRefused',
  );
  if (refusals.length === 0) return null;
  return (
    <div className="callout callout--warning" role="note" aria-label="Changes that no longer apply">
      <strong>
        {refusals.length === 1
          ? 'A change made on this device no longer applies'
          : `${refusals.length} changes made on this device no longer apply`}
      </strong>
      <ul className="refusals">
        {refusals.map((refusal) => {
          const text = refusalText(refusal, describe, origins);
          return (
            <li key={refusal.eventId}>
              {text.what}: {text.why}. {text.first}
            </li>
          );
        })}
      </ul>
    </div>
  );
}
