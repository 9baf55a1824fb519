import { type FormEvent, useMemo, useState } from 'react';
import { catalog } from '../../catalog/products';
import { StatusBadge } from '../../ui/components/badges';
import { CatalogSelect } from '../../ui/components/catalog-select';
import { FormAlert } from '../../ui/components/field';
import { NumberField, numberOrUndefined } from '../../ui/components/number-field';
import { ReasonDialog } from '../../ui/components/reason-dialog';
import { StreamNotFound, StreamScreen } from '../../ui/components/stream-screen';
import { formatMoney } from '../../ui/format';
import { useCommandSubmit, useObservable } from '../../ui/hooks';
import { useOutpost } from '../../ui/outpost-context';
import { MAX_QUANTITY } from '../domain/fields';
import type { OrderLine } from '../domain/order';
import type { OrderSummary } from '../read-models';
import { orderStatusText } from './order-status';
import { describeOrderEvent } from './order-text';
import { liveOrder, type OrderView } from './order-view';

const BACK = { href: '#/orders', label: 'Orders' } as const;

/**
 * One order: its lines and total, the editing actions a draft allows, and (from the shared stream screen)
 * where its changes are and its timeline.
 */
export function OrderDetailScreen({ orderId }: { readonly orderId: string }) {
  const { db, clock } = useOutpost();
  // The shared live view: it also shows this tab's own commands the moment they commit (committed-views.ts).
  const view$ = useMemo(() => liveOrder(db, orderId, clock), [db, orderId, clock]);
  const loaded = useObservable<OrderView | null | undefined>(view$, undefined);

  if (loaded === undefined) return <p aria-busy="true">Loading order…</p>;
  if (loaded === null) {
    return (
      <StreamNotFound
        headingId="order-heading"
        title="Order not found"
        what={`order ${orderId}`}
        back={{ href: BACK.href, label: 'Back to orders' }}
      />
    );
  }
  const { summary, lines } = loaded;
  // A held-back order still takes changes: they queue behind the dead entry and go once it is resolved.
  const editable = summary.status === 'draft';
  return (
    <StreamScreen
      delivery={loaded.delivery}
      events={loaded.events}
      outbox={loaded.outbox}
      discardedFromVersion={loaded.discardedFromVersion}
      authors={loaded.authors}
      ownClientIds={loaded.ownClientIds}
      headingId="order-heading"
      back={BACK}
      title={summary.customerName}
      status={<StatusBadge status={summary.status} text={orderStatusText(summary)} />}
      createdAt={summary.createdAt}
      noun="order"
      describe={describeOrderEvent}
    >
      {summary.cancellationReason ? <p className="callout">Cancelled: {summary.cancellationReason}</p> : null}
      <LinesCard summary={summary} lines={lines} editable={editable} />
      {editable ? <AddProductForm orderId={orderId} /> : null}
      <OrderActions summary={summary} />
    </StreamScreen>
  );
}

function LinesCard({
  summary,
  lines,
  editable,
}: {
  readonly summary: OrderSummary;
  readonly lines: readonly OrderLine[];
  readonly editable: boolean;
}) {
  return (
    <div className="card">
      <h2>Lines</h2>
      {lines.length === 0 ? (
        <p className="muted">No products yet.</p>
      ) : (
        <div className="table-scroll">
          <table className="table">
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
                  </th>
                  <td className="num">
                    {editable ? <QuantityForm orderId={summary.id} line={line} /> : line.quantity}
                  </td>
                  <td className="num col-unit">{formatMoney(line.unitPrice, summary.currency)}</td>
                  <td className="num">{formatMoney(line.amount, summary.currency)}</td>
                  {editable ? (
                    <td>
                      <RemoveButton orderId={summary.id} line={line} />
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
    </div>
  );
}

function QuantityForm({ orderId, line }: { readonly orderId: string; readonly line: OrderLine }) {
  const { submit, busy, feedback } = useCommandSubmit(['quantity']);
  const [quantity, setQuantity] = useState(String(line.quantity));
  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    void submit({ type: 'ChangeQuantity', orderId, sku: line.sku, quantity: numberOrUndefined(quantity) });
  };
  return (
    <form className="inline-form" onSubmit={onSubmit} noValidate aria-busy={busy}>
      <NumberField
        label={`Quantity of ${line.name}`}
        error={feedback.fields.quantity ?? feedback.message ?? undefined}
        value={quantity}
        onChange={setQuantity}
        min={1}
        max={MAX_QUANTITY}
      />
      <button type="submit" className="button" disabled={quantity === String(line.quantity)}>
        Update<span className="visually-hidden"> quantity of {line.name}</span>
      </button>
    </form>
  );
}

function RemoveButton({ orderId, line }: { readonly orderId: string; readonly line: OrderLine }) {
  const { submit, busy, feedback } = useCommandSubmit([]);
  const remove = () => void submit({ type: 'RemoveProduct', orderId, sku: line.sku });
  return (
    <>
      <button type="button" className="button button--quiet" onClick={remove} aria-busy={busy}>
        Remove<span className="visually-hidden"> {line.name}</span>
      </button>
      <FormAlert message={feedback.message} />
    </>
  );
}

const NO_LINE = { sku: '', quantity: '1' };

function AddProductForm({ orderId }: { readonly orderId: string }) {
  const { submit, busy, feedback, setFeedback } = useCommandSubmit(['sku', 'quantity']);
  // One value for the line being entered, so a submitted line can be told from the next one by identity.
  const [draft, setDraft] = useState(NO_LINE);
  const { sku, quantity } = draft;

  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    const product = catalog.find((candidate) => candidate.sku === sku);
    if (!product) {
      setFeedback({ fields: { sku: 'Choose a product from the catalog' }, message: null });
      return;
    }
    const command = {
      type: 'AddProduct',
      orderId,
      sku: product.sku,
      name: product.name,
      unitPrice: product.unitPrice,
      quantity: numberOrUndefined(quantity),
    };
    const submitted = draft;
    void submit(command, {
      // Cleared only while it still shows this line: the person may be entering the next one already.
      onDone: () => setDraft((current) => (current === submitted ? NO_LINE : current)),
    });
  };

  return (
    <form
      className="card form form--row"
      onSubmit={onSubmit}
      noValidate
      aria-labelledby="add-product-heading"
      aria-busy={busy}
    >
      <h2 id="add-product-heading">Add a product</h2>
      <CatalogSelect
        label="Product"
        error={feedback.fields.sku}
        value={sku}
        onChange={(chosen) => setDraft((current) => ({ ...current, sku: chosen }))}
        warnDiscontinued
      />
      <NumberField
        label="Quantity"
        error={feedback.fields.quantity}
        value={quantity}
        onChange={(text) => setDraft((current) => ({ ...current, quantity: text }))}
        min={1}
        max={MAX_QUANTITY}
      />
      <FormAlert message={feedback.message} />
      <div className="form__actions">
        <button type="submit" className="button button--primary">
          Add to order
        </button>
      </div>
    </form>
  );
}

function OrderActions({ summary }: { readonly summary: OrderSummary }) {
  const { submit, busy, feedback } = useCommandSubmit([]);
  const [cancelling, setCancelling] = useState(false);
  const canPlace = summary.status === 'draft';
  const canCancel = summary.status !== 'cancelled';
  if (!canPlace && !canCancel) return null;

  const place = () => void submit({ type: 'PlaceOrder', orderId: summary.id });

  return (
    <div className="card actions">
      {canPlace ? (
        <button type="button" className="button button--primary" onClick={place} aria-busy={busy}>
          Place order
        </button>
      ) : null}
      {canCancel ? (
        <button type="button" className="button button--danger" onClick={() => setCancelling(true)}>
          Cancel order
        </button>
      ) : null}
      <FormAlert message={feedback.message} />
      {cancelling ? <CancelDialog orderId={summary.id} onClose={() => setCancelling(false)} /> : null}
    </div>
  );
}

function CancelDialog({ orderId, onClose }: { readonly orderId: string; readonly onClose: () => void }) {
  const { submit, busy, feedback } = useCommandSubmit(['reason']);
  return (
    <ReasonDialog
      title="Cancel this order?"
      label="Reason for cancelling"
      keepLabel="Keep order"
      submitLabel="Cancel order"
      busy={busy}
      reasonError={feedback.fields.reason}
      message={feedback.message}
      onSubmit={(reason) => void submit({ type: 'CancelOrder', orderId, reason }, { onDone: onClose })}
      onClose={onClose}
    />
  );
}
