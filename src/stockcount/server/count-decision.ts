import { MAX_TEXT } from '../../outbox';
import type { CountLine } from '../domain/events';
import { type ExpectedStock, expectedStockOf } from './expected-stock';

/**
 * How far a counted line may be from the expected stock before the server refuses the count. A line is a
 * discrepancy only when it is off by MORE than both:
 *
 * - 2 units: a person counting a live shelf is routinely a unit or two out (a sale or a pick mid-count, one
 *   box behind another). With a percentage alone, every low-stock line would fail on that noise: expected
 *   4, counted 3 is already 25%.
 * - 10% of the expected stock: on a big shelf a few units are noise too (expected 1200 cups, counted 1195),
 *   and with a fixed unit tolerance alone every large line would fail.
 *
 * Together they flag a difference that matters both in units and in proportion, which is what is worth
 * sending a person back to the shelf for. A sku the table does not know (expected 0) passes with up to
 * 2 units counted.
 */
export const TOLERATED_UNITS = 2;
export const TOLERATED_PERCENT = 10;

/** Integer arithmetic on purpose: "more than 10%" must not depend on how a float rounds. */
export function isDiscrepancy(counted: number, expected: number): boolean {
  const difference = Math.abs(counted - expected);
  return difference > TOLERATED_UNITS && difference * 100 > expected * TOLERATED_PERCENT;
}

export type CountDecision =
  | { readonly type: 'CountAccepted' }
  | {
      readonly type: 'CountRejected';
      readonly code: 'discrepancy';
      readonly reason: string;
      /** Every discrepant sku, in the sheet's order: the lines to recount. */
      readonly skus: readonly string[];
    };

/** One line of text for a person; the skus in full are in the rejection's `skus`. */
function discrepancyReason(
  discrepancies: readonly { readonly sku: string; readonly counted: number; readonly expected: number }[],
): string {
  const details = discrepancies
    .map(({ sku, counted, expected }) => `${sku} counted ${counted}, expected ${expected}`)
    .join('; ');
  const reason = `Recount: off by more than ${TOLERATED_UNITS} units and ${TOLERATED_PERCENT}%: ${details}`;
  return reason.length <= MAX_TEXT ? reason : `${reason.slice(0, MAX_TEXT - 1)}…`;
}

/** What the server decides about the lines submitted for `location`. */
export function decideCount(
  location: string,
  lines: readonly CountLine[],
  expectedOf: ExpectedStock = expectedStockOf,
): CountDecision {
  const discrepancies = lines
    .map(({ sku, quantity }) => ({ sku, counted: quantity, expected: expectedOf(location, sku) }))
    .filter(({ counted, expected }) => isDiscrepancy(counted, expected));
  if (discrepancies.length === 0) return { type: 'CountAccepted' };
  return {
    type: 'CountRejected',
    code: 'discrepancy',
    reason: discrepancyReason(discrepancies),
    skus: discrepancies.map(({ sku }) => sku),
  };
}

/** `SC-000042` for serverSeq 42; numbers past 999,999 simply grow wider. */
export const countNumberFor = (serverSeq: number): string => `SC-${String(serverSeq).padStart(6, '0')}`;
