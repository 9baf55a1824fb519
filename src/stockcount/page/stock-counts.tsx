import { type FormEvent, useState } from 'react';
import { LOCATIONS } from '../../catalog/locations';
import { StatusBadge } from '../../ui/components/badges';
import { Field, FormAlert } from '../../ui/components/field';
import { StreamRow } from '../../ui/components/stream-row';
import { useCommandSubmit } from '../../ui/hooks';
import { useOutpost, useOutpostIds } from '../../ui/outpost-context';
import { ScreenHeading } from '../../ui/screens/screen-heading';
import { useLiveRead } from '../../ui/use-live-read';
import { readStockCounts } from './count-list';
import { countStatusText } from './count-text';
import { navigate } from './routes';

/** Counts are started one shelf at a time; the list shows the newest, which is what a stockroom works on. */
const SHOWN = 100;

/** The stock counts on this device, newest first, and a form to start one. */
export function StockCountsScreen() {
  const { db } = useOutpost();
  const page = useLiveRead((now) => readStockCounts(db, { limit: SHOWN }, now), [db]);
  const total = page?.total;
  return (
    <section aria-labelledby="counts-heading">
      <ScreenHeading id="counts-heading">Stock counts</ScreenHeading>
      <p className="screen-intro">
        Count a shelf where there is no network: the count is saved on this device and sent when the
        connection returns. The server accepts it or names the products to count again.
      </p>
      <StartCountForm />
      <p className="muted" aria-live="polite">
        {total === undefined
          ? 'Loading counts…'
          : `${total.toLocaleString()} ${total === 1 ? 'count' : 'counts'}${total > SHOWN ? `, the newest ${SHOWN} shown` : ''}`}
      </p>
      {total === 0 ? <p className="empty">No counts yet.</p> : null}
      {page && page.rows.length > 0 ? (
        <ul className="stream-list" aria-label="Stock counts">
          {page.rows.map((count) => (
            <li key={count.id}>
              <StreamRow
                href={`#/counts/${count.id}`}
                title={count.location}
                figure={`${count.lineCount} ${count.lineCount === 1 ? 'line' : 'lines'} · ${count.unitsCounted} units`}
                status={<StatusBadge status={count.status} text={countStatusText(count)} />}
                delivery={count.delivery}
                id={count.id}
                createdAt={count.createdAt}
              />
            </li>
          ))}
        </ul>
      ) : null}
    </section>
  );
}

/** The count's id is chosen when the form opens, so a repeated submit starts nothing new. */
function StartCountForm() {
  const ids = useOutpostIds();
  const [countId] = useState(ids);
  const { submit, busy, feedback } = useCommandSubmit(['location'], { keepId: true });
  const [location, setLocation] = useState('');
  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    void submit(
      { type: 'StartCount', countId, location: location.trim().toUpperCase() },
      { onDone: () => navigate({ name: 'count', countId }) },
    );
  };
  return (
    <form
      className="card form form--row"
      onSubmit={onSubmit}
      noValidate
      aria-labelledby="start-count-heading"
      aria-busy={busy}
    >
      <h2 id="start-count-heading">Start a count</h2>
      <Field
        label="Location"
        hint="The code on the shelf label, such as WH-01"
        error={feedback.fields.location}
      >
        {(control) => (
          <input
            {...control}
            name="location"
            list="count-locations"
            autoCapitalize="characters"
            spellCheck={false}
            className="input--short"
            value={location}
            onChange={(event) => setLocation(event.target.value)}
          />
        )}
      </Field>
      <datalist id="count-locations">
        {LOCATIONS.map((known) => (
          <option key={known.code} value={known.code}>
            {known.name}
          </option>
        ))}
      </datalist>
      <FormAlert message={feedback.message} />
      <div className="form__actions">
        <button type="submit" className="button button--primary">
          Start count
        </button>
      </div>
    </form>
  );
}
