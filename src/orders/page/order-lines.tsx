import { type FormEvent, type KeyboardEvent, useEffect, useRef, useState } from 'react';
import { isDiscontinued } from '../../catalog/products';
import { FormAlert } from '../../ui/components/field';
import { NumberField, numberOrUndefined } from '../../ui/components/number-field';
import { formatMoney } from '../../ui/format';
import { useCommandSubmit } from '../../ui/hooks';
import { MAX_QUANTITY } from '../domain/fields';
import type { OrderLine } from '../domain/order';
import type { OrderSummary } from '../read-models';

/** How long "Undo" is offered after a line is removed; the removal itself was written at once. */
export const UNDO_MS = 10_000;

/**
 * An order's lines: inline quantities (Enter saves) and removal with an undo while the order is a draft. The
 * undo is a command like any other (the line added back as it was), never a removal held back by a timer:
 * what the person sees removed is removed, on this device and, once sent, on the server.
 */
export function OrderLinesCard({
  summary,
  lines,
  editable,
  onUndone,
}: {
  readonly summary: OrderSummary;
  readonly lines: readonly OrderLine[];
  readonly editable: boolean;
  /** After an undo, where the person goes on working (the product search). */
  readonly onUndone?: () => void;
}) {
  const [removed, setRemoved] = useState<OrderLine | null>(null);
  return (
    <div className="card">
      <h2>Lines</h2>
      {lines.length === 0 ? (
        <p className="muted">No products yet.</p>
      ) : (
        <div className="table-scroll">
          <table className="table table--lines">
            <thead>
              <tr>
                <th scope="col">Product</th>
                <th scope="col" className="num">
                  Quantity
                </th>
                <th scope="col" className="num col-unit">
                  Unit price
                </th>
                <th scope="col" className="num">
                  Amount
                </th>
                {editable ? (
                  <th scope="col">
                    <span className="visually-hidden">Actions</span>
                  </th>
                ) : null}
              </tr>
            </thead>
            <tbody>
              {lines.map((line) => (
                <tr key={line.sku}>
                  <th scope="row">
                    {line.name}
                    <span className="sku">{line.sku}</span>
                    {isDiscontinued(line.sku) && summary.status === 'draft' ? (
                      <span className="line-warning">Discontinued: the server will refuse this order</span>
                    ) : null}
                  </th>
                  <td className="num">
                    {editable ? <QuantityForm orderId={summary.id} line={line} /> : line.quantity}
                  </td>
                  <td className="num col-unit">{formatMoney(line.unitPrice, summary.currency)}</td>
                  <td className="num">{formatMoney(line.amount, summary.currency)}</td>
                  {editable ? (
                    <td>
                      <RemoveButton orderId={summary.id} line={line} onRemoved={setRemoved} />
                    </td>
                  ) : null}
                </tr>
              ))}
            </tbody>
            <tfoot>
              <tr>
                <th scope="row" colSpan={2}>
                  Total
                </th>
                <td className="col-unit" />
                <td className="num total">{formatMoney(summary.total, summary.currency)}</td>
                {editable ? <td /> : null}
              </tr>
            </tfoot>
          </table>
        </div>
      )}
      {removed ? (
        <UndoRemoval
          key={removed.sku}
          orderId={summary.id}
          line={removed}
          onEnd={(undone) => {
            setRemoved(null);
            if (undone) onUndone?.();
          }}
        />
      ) : null}
    </div>
  );
}

/**
 * A line's quantity, edited in place: Enter (or "Update") saves, Escape puts the saved quantity back. While
 * the box holds the saved quantity it follows the line, so a line added to again shows its new quantity.
 */
function QuantityForm({ orderId, line }: { readonly orderId: string; readonly line: OrderLine }) {
  const { submit, busy, feedback } = useCommandSubmit(['quantity']);
  const [edit, setEdit] = useState({ text: String(line.quantity), of: line.quantity });
  // Not being edited (the box shows what was saved): take the line's quantity as it is now.
  const text = edit.text === String(edit.of) ? String(line.quantity) : edit.text;
  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    const quantity = numberOrUndefined(text);
    void submit(
      { type: 'ChangeQuantity', orderId, sku: line.sku, quantity },
      // Saved: the box follows the line again (unless the person typed on meanwhile).
      {
        onDone: () =>
          setEdit((now) => (now.text === text ? { text: String(quantity), of: Number(quantity) } : now)),
      },
    );
  };
  const onKeyDown = (event: KeyboardEvent) => {
    if (event.key !== 'Escape' || text === String(line.quantity)) return;
    event.preventDefault();
    setEdit({ text: String(line.quantity), of: line.quantity });
  };
  return (
    <form className="inline-form" onSubmit={onSubmit} onKeyDown={onKeyDown} noValidate aria-busy={busy}>
      <NumberField
        label={`Quantity of ${line.name}`}
        error={feedback.fields.quantity ?? feedback.message ?? undefined}
        value={text}
        onChange={(typed) => setEdit({ text: typed, of: line.quantity })}
        min={1}
        max={MAX_QUANTITY}
      />
      <button type="submit" className="button" disabled={text === String(line.quantity)}>
        Update<span className="visually-hidden"> quantity of {line.name}</span>
      </button>
    </form>
  );
}

function RemoveButton({
  orderId,
  line,
  onRemoved,
}: {
  readonly orderId: string;
  readonly line: OrderLine;
  readonly onRemoved: (line: OrderLine) => void;
}) {
  const { submit, busy, feedback } = useCommandSubmit([]);
  const remove = () =>
    void submit({ type: 'RemoveProduct', orderId, sku: line.sku }, { onDone: () => onRemoved(line) });
  return (
    <>
      <button type="button" className="button button--quiet" onClick={remove} aria-busy={busy}>
        Remove<span className="visually-hidden"> {line.name}</span>
      </button>
      <FormAlert message={feedback.message} />
    </>
  );
}

/**
 * "Removed … Undo", offered for `UNDO_MS` and for as long as the focus is on it. Takes the focus when it
 * appears: the Remove button the person pressed went with its line.
 */
function UndoRemoval({
  orderId,
  line,
  onEnd,
}: {
  readonly orderId: string;
  readonly line: OrderLine;
  readonly onEnd: (undone: boolean) => void;
}) {
  const { submit, busy, feedback } = useCommandSubmit([]);
  const [focused, setFocused] = useState(false);
  const button = useRef<HTMLButtonElement>(null);
  const end = useRef(onEnd);
  end.current = onEnd;
  useEffect(() => button.current?.focus(), []);
  useEffect(() => {
    if (focused || busy || feedback.message) return;
    const timer = setTimeout(() => end.current(false), UNDO_MS);
    return () => clearTimeout(timer);
  }, [focused, busy, feedback.message]);
  const undo = () => {
    const { sku, name, quantity, unitPrice } = line;
    void submit(
      { type: 'AddProduct', orderId, sku, name, quantity, unitPrice },
      { onDone: () => end.current(true) },
    );
  };
  return (
    // biome-ignore lint/a11y/noStaticElementInteractions: focus inside only keeps the offer on screen.
    <div className="undo" onFocus={() => setFocused(true)} onBlur={() => setFocused(false)}>
      <p className="undo__text" role="status">
        Removed {line.quantity} × {line.name}.
      </p>
      <button ref={button} type="button" className="button" onClick={undo} aria-busy={busy}>
        Undo<span className="visually-hidden"> removing {line.name}</span>
      </button>
      <FormAlert message={feedback.message} />
    </div>
  );
}
