import { useMemo, useRef, useState } from 'react';
import { StatusBadge } from '../../ui/components/badges';
import { FormAlert } from '../../ui/components/field';
import { ReasonDialog } from '../../ui/components/reason-dialog';
import { StreamNotFound, StreamScreen } from '../../ui/components/stream-screen';
import { useCommandSubmit, useObservable } from '../../ui/hooks';
import { useOutpost } from '../../ui/outpost-context';
import type { OrderSummary } from '../read-models';
import { AddProductForm } from './add-product-form';
import { CopyOrderCard, OrderLinksNote, useOrderLinks } from './order-copy';
import { OrderLinesCard } from './order-lines';
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
  return <OrderScreen loaded={loaded} />;
}

function OrderScreen({ loaded }: { readonly loaded: OrderView }) {
  const { summary, lines } = loaded;
  const search = useRef<HTMLInputElement>(null);
  const links = useOrderLinks(summary);
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
      <OrderLinksNote links={links} />
      {editable ? (
        <AddProductForm orderId={summary.id} currency={summary.currency} searchRef={search} />
      ) : null}
      <OrderLinesCard
        summary={summary}
        lines={lines}
        editable={editable}
        onUndone={() => search.current?.focus()}
      />
      <CopyOrderCard summary={summary} lines={lines} links={links} />
      <OrderActions summary={summary} />
    </StreamScreen>
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
