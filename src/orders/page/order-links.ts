import { type OutpostDb, readModelTable } from '../../outbox/page';
import type { OrderSummary } from '../read-models';

/**
 * The orders one order is linked with by copying: the one it was copied from, and those copied from it
 * (found through the `copiedFrom` index, so the link is one fact, stored once, on the copy).
 */
export interface OrderLinks {
  readonly copiedFrom: OrderSummary | null;
  /** Oldest first (ids are UUIDv7). */
  readonly copies: readonly OrderSummary[];
  /** Links never depend on the time: a live read needs no timer for them. */
  readonly changesAt: null;
}

export async function readOrderLinks(
  db: OutpostDb,
  order: Pick<OrderSummary, 'id' | 'copiedFrom'>,
): Promise<OrderLinks> {
  const orders = readModelTable<OrderSummary>(db, 'orders');
  return db.transaction('r', ['orders'], async () => {
    const [copiedFrom, copies] = await Promise.all([
      order.copiedFrom ? orders.get(order.copiedFrom) : undefined,
      orders.where('copiedFrom').equals(order.id).sortBy('id'),
    ]);
    return { copiedFrom: copiedFrom ?? null, copies, changesAt: null };
  });
}

/**
 * The lines a copy of a refused order keeps: every line but those the server named. A rejection from a
 * server that names no lines is about the whole order (a credit limit), so every line is kept.
 */
export function linesToCopy<Line extends { readonly sku: string }>(
  order: Pick<OrderSummary, 'rejection'>,
  lines: readonly Line[],
): { readonly kept: readonly Line[]; readonly left: readonly Line[] } {
  const named = new Set(order.rejection?.skus ?? []);
  return {
    kept: lines.filter((line) => !named.has(line.sku)),
    left: lines.filter((line) => named.has(line.sku)),
  };
}
