import { useRef, useState } from 'react';
import { isDiscontinued } from '../../catalog/products';
import { type CommandFeedback, feedbackOf, noFeedback, unsavedFeedback } from '../../ui/command-feedback';
import { FormAlert } from '../../ui/components/field';
import { useOutpost, useOutpostIds } from '../../ui/outpost-context';
import { useLiveRead } from '../../ui/use-live-read';
import type { OrderLine } from '../domain/order';
import type { OrderSummary } from '../read-models';
import { linesToCopy, type OrderLinks, readOrderLinks } from './order-links';
import { navigate } from './routes';

const statusWord = (order: OrderSummary): string => order.status;

/** The orders this one is linked with by copying, live: where it came from and what was made of it. */
export function useOrderLinks(summary: OrderSummary): OrderLinks | undefined {
  const { db } = useOutpost();
  return useLiveRead(() => readOrderLinks(db, summary), [db, summary.id, summary.copiedFrom]);
}

/** "This order is a copy of an earlier order (rejected)", and "Copied to a new order (draft)". */
export function OrderLinksNote({ links }: { readonly links: OrderLinks | undefined }) {
  if (!links || (!links.copiedFrom && links.copies.length === 0)) return null;
  return (
    <div className="callout callout--link">
      {links.copiedFrom ? (
        <p>
          A copy of <a href={`#/orders/${links.copiedFrom.id}`}>an earlier order</a> (
          {statusWord(links.copiedFrom)}).
        </p>
      ) : null}
      {links.copies.map((copy) => (
        <p key={copy.id}>
          Copied to <a href={`#/orders/${copy.id}`}>a new order</a> ({statusWord(copy)}).
        </p>
      ))}
    </div>
  );
}

/**
 * The lines the server named: from the rejection itself, or for a rejection that names none but is about
 * discontinued products (a server that predates the `skus` field), the lines the catalog marks so.
 */
function copyPlan(summary: OrderSummary, lines: readonly OrderLine[]) {
  const named = summary.rejection?.skus
    ? summary.rejection
    : summary.rejection?.code === 'discontinued_sku'
      ? { ...summary.rejection, skus: lines.map((line) => line.sku).filter(isDiscontinued) }
      : summary.rejection;
  return linesToCopy({ rejection: named }, lines);
}

function copyText(customer: string, all: number, kept: number, left: readonly OrderLine[]): string {
  const what = (() => {
    if (kept === 0) return all === 0 ? '' : ' with no lines';
    if (kept === all) return all === 1 ? ' with its line' : ` with all ${all} lines`;
    return ` with ${kept} of ${all} lines`;
  })();
  const without =
    left.length > 0 ? `, without ${left.map((line) => line.sku).join(', ')}, which the server refused` : '';
  return `A new draft for ${customer}${what}${without}.`;
}

/**
 * "Copy to a new order" for a rejected or cancelled order: a new draft for the same customer and currency
 * with every line but the ones the server refused, linked back to this one, and opened. Ordinary commands
 * through the outbox, issued together so they share one transaction: it works offline, and a repeat (a
 * double click) answers as a repeat, since the new order's id and the command ids are chosen once.
 */
export function CopyOrderCard({
  summary,
  lines,
  links,
}: {
  readonly summary: OrderSummary;
  readonly lines: readonly OrderLine[];
  readonly links: OrderLinks | undefined;
}) {
  const { execute } = useOutpost();
  const ids = useOutpostIds();
  const [busy, setBusy] = useState(false);
  const [feedback, setFeedback] = useState<CommandFeedback>(noFeedback);
  const plan = useRef<{ orderId: string; commandIds: string[] } | null>(null);
  if (summary.status !== 'rejected' && summary.status !== 'cancelled') return null;
  // Copied already: the link above leads to it; a second copy is not what a person at the counter needs.
  if (!links || links.copies.length > 0) return null;

  const { kept, left } = copyPlan(summary, lines);

  const copy = async () => {
    plan.current ??= { orderId: ids(), commandIds: [ids(), ...kept.map(() => ids())] };
    const { orderId, commandIds } = plan.current;
    const commands = [
      {
        type: 'CreateOrder',
        orderId,
        customerName: summary.customerName,
        currency: summary.currency,
        copiedFrom: summary.id,
      },
      ...kept.map(({ sku, name, quantity, unitPrice }) => ({
        type: 'AddProduct',
        orderId,
        sku,
        name,
        quantity,
        unitPrice,
      })),
    ];
    setBusy(true);
    setFeedback(noFeedback);
    let answers: Awaited<ReturnType<typeof execute>>[];
    try {
      // Issued in one task: the pipeline writes them in one transaction, in this order.
      answers = await Promise.all(
        commands.map((command, index) => execute({ command, commandId: commandIds[index] as string })),
      );
    } catch (error) {
      setBusy(false);
      setFeedback(unsavedFeedback(error));
      return;
    }
    setBusy(false);
    const refused = answers.find((answer) => !answer.ok);
    if (refused && !refused.ok) {
      setFeedback(feedbackOf(refused.error, []));
      return;
    }
    navigate({ name: 'order', orderId });
  };

  return (
    <div className="card copy-order">
      <h2>Take this order again</h2>
      <p>{copyText(summary.customerName, lines.length, kept.length, left)}</p>
      <button type="button" className="button button--primary" onClick={() => void copy()} aria-busy={busy}>
        Copy to a new order
      </button>
      <FormAlert message={feedback.message} />
    </div>
  );
}
