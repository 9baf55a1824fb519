import { type FormEvent, useMemo, useState } from 'react';
import { findProduct } from '../../catalog/products';
import { StatusBadge } from '../../ui/components/badges';
import { CatalogSelect } from '../../ui/components/catalog-select';
import { FormAlert } from '../../ui/components/field';
import { NumberField, numberOrUndefined } from '../../ui/components/number-field';
import { ReasonDialog } from '../../ui/components/reason-dialog';
import { StreamNotFound, StreamScreen } from '../../ui/components/stream-screen';
import { formatDateTime } from '../../ui/format';
import { useCommandSubmit, useObservable } from '../../ui/hooks';
import { useOutpost, useOutpostIds } from '../../ui/outpost-context';
import type { CountLine } from '../domain/events';
import { MAX_COUNTED_QUANTITY } from '../domain/fields';
import type { StockCountSummary } from '../read-models';
import { countStatusText, describeCountEvent, productLabel } from './count-text';
import { liveStockCount, type StockCountView } from './count-view';
import { navigate } from './routes';

const BACK = { href: '#/counts', label: 'Stock counts' } as const;

/**
 * One stock count: its sheet (a line per sku counted), the entry form while it is open, submit and abandon,
 * the server's answer, and (from the shared stream screen) where its changes are and its timeline.
 */
export function StockCountSheetScreen({ countId }: { readonly countId: string }) {
  const { db, clock } = useOutpost();
  const view$ = useMemo(() => liveStockCount(db, countId, clock), [db, countId, clock]);
  const loaded = useObservable<StockCountView | null | undefined>(view$, undefined);

  if (loaded === undefined) return <p aria-busy="true">Loading count…</p>;
  if (loaded === null) {
    return (
      <StreamNotFound
        headingId="count-heading"
        title="Count not found"
        what={`stock count ${countId}`}
        back={{ href: BACK.href, label: 'Back to stock counts' }}
      />
    );
  }
  const { summary, lines } = loaded;
  const open = summary.status === 'counting';
  return (
    <StreamScreen
      delivery={loaded.delivery}
      events={loaded.events}
      outbox={loaded.outbox}
      discardedFromVersion={loaded.discardedFromVersion}
      authors={loaded.authors}
      ownClientIds={loaded.ownClientIds}
      headingId="count-heading"
      back={BACK}
      title={`Count of ${summary.location}`}
      status={<StatusBadge status={summary.status} text={countStatusText(summary)} />}
      createdAt={summary.createdAt}
      noun="stock count"
      describe={describeCountEvent}
    >
      <Verdict summary={summary} />
      <SheetCard summary={summary} lines={lines} open={open} />
      {open ? <RecordForm countId={countId} /> : null}
      {open ? <CountActions summary={summary} /> : null}
    </StreamScreen>
  );
}

/** What the server decided, and for a rejection the way on: count those products again in a new count. */
function Verdict({ summary }: { readonly summary: StockCountSummary }) {
  if (summary.status === 'accepted') {
    return (
      <p className="callout" role="note">
        Accepted as <strong>{summary.countNumber}</strong>
        {summary.acceptedAt ? ` on ${formatDateTime(summary.acceptedAt)}` : ''}.
      </p>
    );
  }
  if (summary.status === 'submitted') {
    return <p className="callout">Submitted: the server accepts it or names the products to count again.</p>;
  }
  if (summary.status === 'abandoned') {
    return <p className="callout">Abandoned: {summary.abandonReason}</p>;
  }
  if (summary.status !== 'rejected' || !summary.rejection) return null;
  const { reason, skus } = summary.rejection;
  return (
    <div className="callout callout--warning" role="note">
      <p>
        <strong>Rejected:</strong> {reason}
      </p>
      {skus.length > 0 ? (
        <p>
          Count again: {skus.map(productLabel).join(', ')}. <RecountButton location={summary.location} />
        </p>
      ) : null}
    </div>
  );
}

/** Starts a new count of the same location (a rejected count stays as it was: the record of that attempt). */
function RecountButton({ location }: { readonly location: string }) {
  const ids = useOutpostIds();
  const [countId] = useState(ids);
  const { submit, busy, feedback } = useCommandSubmit([], { keepId: true });
  const start = () =>
    void submit(
      { type: 'StartCount', countId, location },
      { onDone: () => navigate({ name: 'count', countId }) },
    );
  return (
    <>
      <button type="button" className="button" onClick={start} aria-busy={busy}>
        Start a new count of {location}
      </button>
      <FormAlert message={feedback.message} />
    </>
  );
}

function SheetCard({
  summary,
  lines,
  open,
}: {
  readonly summary: StockCountSummary;
  readonly lines: readonly CountLine[];
  readonly open: boolean;
}) {
  const recount = new Set(summary.rejection?.skus ?? []);
  return (
    <div className="card">
      <h2>Counted</h2>
      {lines.length === 0 ? (
        <p className="muted">Nothing counted yet.</p>
      ) : (
        <div className="table-scroll">
          <table className="table">
            <thead>
              <tr>
                <th scope="col">Product</th>
                <th scope="col" className="num">
                  Counted
                </th>
                {open ? (
                  <th scope="col">
                    <span className="visually-hidden">Actions</span>
                  </th>
                ) : null}
              </tr>
            </thead>
            <tbody>
              {lines.map((line) => (
                <tr key={line.sku} className={recount.has(line.sku) ? 'line--recount' : undefined}>
                  <th scope="row">
                    {findProduct(line.sku)?.name ?? line.sku}
                    <span className="sku">{line.sku}</span>
                    {recount.has(line.sku) ? (
                      <span className="badge badge--status-rejected">Recount</span>
                    ) : null}
                  </th>
                  <td className="num">
                    {open ? <RecountForm countId={summary.id} line={line} /> : line.quantity}
                  </td>
                  {open ? (
                    <td>
                      <RemoveLineButton countId={summary.id} line={line} />
                    </td>
                  ) : null}
                </tr>
              ))}
            </tbody>
            <tfoot>
              <tr>
                <th scope="row">Units</th>
                <td className="num total">{summary.unitsCounted}</td>
                {open ? <td /> : null}
              </tr>
            </tfoot>
          </table>
        </div>
      )}
    </div>
  );
}

/** A recount replaces the line's figure (RecordQuantity), it never adds to it. */
function RecountForm({ countId, line }: { readonly countId: string; readonly line: CountLine }) {
  const { submit, busy, feedback } = useCommandSubmit(['quantity']);
  const [quantity, setQuantity] = useState(String(line.quantity));
  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    void submit({ type: 'RecordQuantity', countId, sku: line.sku, quantity: numberOrUndefined(quantity) });
  };
  const name = findProduct(line.sku)?.name ?? line.sku;
  return (
    <form className="inline-form" onSubmit={onSubmit} noValidate aria-busy={busy}>
      <NumberField
        label={`Counted ${name}`}
        error={feedback.fields.quantity ?? feedback.message ?? undefined}
        value={quantity}
        onChange={setQuantity}
        min={0}
        max={MAX_COUNTED_QUANTITY}
      />
      <button type="submit" className="button" disabled={quantity === String(line.quantity)}>
        Update<span className="visually-hidden"> count of {name}</span>
      </button>
    </form>
  );
}

function RemoveLineButton({ countId, line }: { readonly countId: string; readonly line: CountLine }) {
  const { submit, busy, feedback } = useCommandSubmit([]);
  const remove = () => void submit({ type: 'RemoveLine', countId, sku: line.sku });
  return (
    <>
      <button type="button" className="button button--quiet" onClick={remove} aria-busy={busy}>
        Remove<span className="visually-hidden"> {findProduct(line.sku)?.name ?? line.sku}</span>
      </button>
      <FormAlert message={feedback.message} />
    </>
  );
}

const NO_LINE = { sku: '', quantity: '' };

/** The count's entry: a product from the catalog and how many are on the shelf (zero is a count too). */
function RecordForm({ countId }: { readonly countId: string }) {
  const { submit, busy, feedback, setFeedback } = useCommandSubmit(['sku', 'quantity']);
  // One value for the line being entered, so a recorded line can be told from the next one by identity.
  const [draft, setDraft] = useState(NO_LINE);
  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    if (!findProduct(draft.sku)) {
      setFeedback({ fields: { sku: 'Choose a product from the catalog' }, message: null });
      return;
    }
    const submitted = draft;
    void submit(
      { type: 'RecordQuantity', countId, sku: draft.sku, quantity: numberOrUndefined(draft.quantity) },
      // Cleared only while it still shows this line: the person may be entering the next one already.
      { onDone: () => setDraft((current) => (current === submitted ? NO_LINE : current)) },
    );
  };
  return (
    <form
      className="card form form--row"
      onSubmit={onSubmit}
      noValidate
      aria-labelledby="record-heading"
      aria-busy={busy}
    >
      <h2 id="record-heading">Record a count</h2>
      <CatalogSelect
        label="Product"
        error={feedback.fields.sku}
        value={draft.sku}
        onChange={(sku) => setDraft((current) => ({ ...current, sku }))}
      />
      <NumberField
        label="Counted"
        error={feedback.fields.quantity}
        value={draft.quantity}
        onChange={(quantity) => setDraft((current) => ({ ...current, quantity }))}
        min={0}
        max={MAX_COUNTED_QUANTITY}
      />
      <FormAlert message={feedback.message} />
      <div className="form__actions">
        <button type="submit" className="button button--primary">
          Record
        </button>
      </div>
    </form>
  );
}

function CountActions({ summary }: { readonly summary: StockCountSummary }) {
  const { submit, busy, feedback } = useCommandSubmit([]);
  const [abandoning, setAbandoning] = useState(false);
  const submitCount = () => void submit({ type: 'SubmitCount', countId: summary.id });
  return (
    <div className="card actions">
      <button type="button" className="button button--primary" onClick={submitCount} aria-busy={busy}>
        Submit count
      </button>
      <button type="button" className="button button--danger" onClick={() => setAbandoning(true)}>
        Abandon count
      </button>
      <FormAlert message={feedback.message} />
      {abandoning ? <AbandonDialog countId={summary.id} onClose={() => setAbandoning(false)} /> : null}
    </div>
  );
}

function AbandonDialog({ countId, onClose }: { readonly countId: string; readonly onClose: () => void }) {
  const { submit, busy, feedback } = useCommandSubmit(['reason']);
  return (
    <ReasonDialog
      title="Abandon this count?"
      label="Reason for abandoning"
      keepLabel="Keep counting"
      submitLabel="Abandon count"
      busy={busy}
      reasonError={feedback.fields.reason}
      message={feedback.message}
      onSubmit={(reason) => void submit({ type: 'AbandonCount', countId, reason }, { onDone: onClose })}
      onClose={onClose}
    />
  );
}
