import { type FormEvent, useMemo, useRef, useState } from 'react';
import * as v from 'valibot';
import { type CatalogProduct, findProduct } from '../../catalog/products';
import { StatusBadge } from '../../ui/components/badges';
import { FormAlert } from '../../ui/components/field';
import { NumberField, numberOrUndefined } from '../../ui/components/number-field';
import { ProductSearch } from '../../ui/components/product-search';
import { chosenProduct, unresolvedProductText } from '../../ui/components/product-search-text';
import { ReasonDialog } from '../../ui/components/reason-dialog';
import { StreamNotFound, StreamScreen } from '../../ui/components/stream-screen';
import { formatDateTime } from '../../ui/format';
import { useCommandSubmit, useObservable } from '../../ui/hooks';
import { useOutpost, useOutpostIds } from '../../ui/outpost-context';
import { type AddCounted, AddCountedSchema } from '../domain/commands';
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
          <table className="table table--lines">
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

/**
 * A recount replaces the line's figure (RecordQuantity), it never adds to it. Until the person types in it,
 * the box follows the line, which scans on the entry form keep changing.
 */
function RecountForm({ countId, line }: { readonly countId: string; readonly line: CountLine }) {
  const { submit, busy, feedback } = useCommandSubmit(['quantity']);
  const [edit, setEdit] = useState({ text: String(line.quantity), of: line.quantity });
  // Not being edited (the box shows what was saved): take the line's quantity as it is now.
  const quantity = edit.text === String(edit.of) ? String(line.quantity) : edit.text;
  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    const typed = numberOrUndefined(quantity);
    void submit(
      { type: 'RecordQuantity', countId, sku: line.sku, quantity: typed },
      // Saved: the box follows the line again (unless the person typed on meanwhile).
      {
        onDone: () =>
          setEdit((now) => (now.text === quantity ? { text: String(typed), of: Number(typed) } : now)),
      },
    );
  };
  const name = findProduct(line.sku)?.name ?? line.sku;
  return (
    <form className="inline-form" onSubmit={onSubmit} noValidate aria-busy={busy}>
      <NumberField
        label={`Counted ${name}`}
        error={feedback.fields.quantity ?? feedback.message ?? undefined}
        value={quantity}
        onChange={(text) => setEdit({ text, of: line.quantity })}
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

/** One unit per scan unless the person types how many they just counted. */
const NO_LINE = { query: '', quantity: '1' };

/**
 * The count's entry, from the keyboard or a scanner: the product from the search (by name or code) and how
 * many were just counted, added to its line (`AddCounted`). A person counting shelf by shelf scans each unit,
 * or types the figure of one shelf and scans once; the same product found on the next shelf adds to its line.
 * Correcting a line's total is the line's own box in the sheet (`RecordQuantity`, which replaces).
 *
 * Enter in the search records the highlighted (or exactly typed) product; "Record", or Enter in the quantity,
 * records what the search names. Either way the form empties at once with the focus in the search, and every
 * record is queued behind the ones before it (`useCommandSubmit`), so none is dropped while another is being
 * written. A refused input (no such product, a quantity out of range) writes nothing and says why next to its
 * field.
 */
function RecordForm({ countId }: { readonly countId: string }) {
  const { submit, busy, feedback, setFeedback } = useCommandSubmit(['sku', 'quantity']);
  const [draft, setDraft] = useState(NO_LINE);
  const searchRef = useRef<HTMLInputElement>(null);

  /** The quantity as the command will carry it, or why not: checked here so the typed product stays. */
  const checkedQuantity = (text: string): number | null => {
    const checked = v.safeParse(AddCountedSchema.entries.quantity, numberOrUndefined(text));
    if (checked.success) return checked.output;
    setFeedback({ fields: { quantity: checked.issues[0].message }, message: null });
    return null;
  };

  const commandFor = (product: CatalogProduct, quantity: number): AddCounted => ({
    type: 'AddCounted',
    countId,
    sku: product.sku,
    quantity,
  });

  /** Enter in the search: a scanner's path. Each Enter counts on its own, the same code twice as two. */
  const recordFromSearch = (text: string, highlighted: CatalogProduct | null) => {
    const product = chosenProduct(text, highlighted);
    if (!product) {
      setFeedback({ fields: { sku: unresolvedProductText(text) }, message: null });
      return;
    }
    const quantity = checkedQuantity(draft.quantity);
    if (quantity === null) return;
    setDraft(NO_LINE);
    void submit(commandFor(product, quantity), { distinct: true });
  };

  /** The line the button last sent, while it is being written: a second click on an emptied form repeats it. */
  const inFlight = useRef<AddCounted | null>(null);

  /**
   * The button, or Enter in the quantity. A click that finds the form empty while the last line is still
   * being written is the second click of a double click: answered as a repeat of that line, so the units
   * are added once.
   */
  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    searchRef.current?.focus();
    const repeated = inFlight.current;
    if (draft.query.trim() === '' && repeated) {
      void submit(repeated);
      return;
    }
    const product = chosenProduct(draft.query);
    if (!product) {
      setFeedback({ fields: { sku: unresolvedProductText(draft.query) }, message: null });
      return;
    }
    const quantity = checkedQuantity(draft.quantity);
    if (quantity === null) return;
    const command = commandFor(product, quantity);
    inFlight.current = command;
    setDraft(NO_LINE);
    void submit(command).finally(() => {
      if (inFlight.current === command) inFlight.current = null;
    });
  };

  return (
    <form
      className="card form form--row"
      onSubmit={onSubmit}
      noValidate
      aria-labelledby="record-heading"
      aria-describedby="record-note"
      aria-busy={busy}
    >
      <h2 id="record-heading">Record a count</h2>
      <p className="form__note" id="record-note">
        Each scan, or Enter, adds the Counted figure to the product&apos;s line; correct a line&apos;s total
        in the sheet.
      </p>
      <ProductSearch
        label="Product"
        value={draft.query}
        onChange={(query) => setDraft((current) => ({ ...current, query }))}
        onEnter={recordFromSearch}
        error={feedback.fields.sku}
        warnDiscontinued={false}
        inputRef={searchRef}
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
