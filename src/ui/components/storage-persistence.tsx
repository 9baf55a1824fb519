import { useId, useState } from 'react';
import { useOutpost } from '../outpost-context';
import { mayBeCleared, persistenceText, unsentAtRiskText } from '../storage-persistence-text';
import { useObservable } from '../use-observable';
import { FormAlert } from './field';

/**
 * Whether this device's storage is persistent or may be cleared by the browser, and what to do about it:
 * in the status (every screen) and on the Outbox screen, where the person can also ask the browser.
 */

/**
 * The status's part: the answer, or in its place the warning while entries wait on storage that may be
 * cleared, and what to do behind "What to do". On a row of its own (styles.css), so that its words changing
 * each time an order is saved or delivered do not re-wrap the status and shift the screen.
 */
export function PersistenceStatusItem({ waiting }: { readonly waiting: number }) {
  const outpost = useOutpost();
  const persistence = useObservable(outpost.persistence$, null);
  if (!persistence) return null;
  const text = persistenceText(persistence);
  const atRisk = waiting > 0 && mayBeCleared(persistence.state);
  return (
    <span className="status-item status-item--persistence">
      <span className="status-item__label">Data on this device</span>{' '}
      {atRisk ? (
        <a className="status-item__alert" href="#/outbox">
          {unsentAtRiskText(waiting)}
        </a>
      ) : (
        text.summary
      )}
      {text.advice ? (
        <details>
          <summary>What to do</summary>
          {text.advice}
        </details>
      ) : null}
    </span>
  );
}

/**
 * The status line's part, on every screen and at every width: only while entries wait on storage the
 * browser may clear, a short warning that leads to the Outbox screen's card.
 */
export function PersistenceRisk({ waiting }: { readonly waiting: number }) {
  const outpost = useOutpost();
  const persistence = useObservable(outpost.persistence$, null);
  if (!persistence || waiting === 0 || !mayBeCleared(persistence.state)) return null;
  // A sign, not words: the line must stay one row on a phone. Its name says it whole, and the full status
  // and the Outbox screen's card say it in words.
  const warning = unsentAtRiskText(waiting);
  return (
    <>
      {' '}
      <a className="status-item__alert" href="#/outbox" aria-label={warning} title={warning}>
        ⚠
      </a>
    </>
  );
}

/** The Outbox screen's card: the same answer and advice, and the button that asks the browser. */
export function PersistenceCard() {
  const outpost = useOutpost();
  const headingId = useId();
  const persistence = useObservable(outpost.persistence$, null);
  const [error, setError] = useState<string | null>(null);
  if (!persistence) return null;
  const text = persistenceText(persistence);
  const ask = async () => {
    setError(null);
    try {
      await outpost.requestPersistence();
    } catch (e) {
      setError(`Could not ask the browser: ${e instanceof Error ? e.message : String(e)}`);
    }
  };
  return (
    <section className="card" aria-labelledby={headingId}>
      <h2 id={headingId}>Keeping the data on this device</h2>
      <p>
        Entries not yet sent exist only on this device. <strong>{text.summary}</strong>
      </p>
      {text.advice ? <p className="callout callout--warning">{text.advice}</p> : null}
      {text.ask ? (
        <button type="button" className="button" onClick={ask}>
          {text.ask}
        </button>
      ) : null}
      <FormAlert message={error} />
    </section>
  );
}
