import type { Page } from 'playwright-core';

/**
 * The app driven the way a person drives it: by role and label. Works on every build (demo or production),
 * since none of it reaches for `window.__outpost`.
 */

export const nav = (page: Page, name: string) =>
  page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name, exact: true });

export interface UiOrderPlan {
  readonly customer: string;
  readonly sku: string;
  readonly productName: string;
  readonly quantity: number;
}

/** New order → add one product → (optionally) place, all through the forms. */
export async function takeOrder(page: Page, plan: UiOrderPlan, place = true): Promise<void> {
  await nav(page, 'New order').click();
  await page.getByLabel('Customer name').fill(plan.customer);
  await page.getByRole('button', { name: 'Create order' }).click();
  await page.getByRole('heading', { level: 1, name: plan.customer }).waitFor();
  await page.getByRole('combobox', { name: 'Product' }).fill(plan.sku);
  await page.getByLabel('Quantity', { exact: true }).fill(String(plan.quantity));
  await page.getByRole('button', { name: 'Add to order' }).click();
  await page.getByLabel(`Quantity of ${plan.productName}`).waitFor();
  if (!place) return;
  await page.getByRole('button', { name: 'Place order' }).click();
  // Placed, or already decided: with the page flushing at once (fallback mode) the server's confirmation can
  // arrive before a poll sees "Placed".
  await page
    .locator('.stream-screen__badges')
    .getByText(/^(Placed|Confirmed|Rejected)\b/)
    .first()
    .waitFor();
}

/** Closes every toast, as a person would before reaching for what they cover. */
export async function dismissToasts(page: Page): Promise<void> {
  const dismiss = page.getByRole('button', { name: /^Dismiss/ });
  while ((await dismiss.count()) > 0) await dismiss.first().click();
}

/** The status bar every screen shows: connection, sync phase, unsent count, who drives sync. */
export const statusBar = (page: Page) => page.getByRole('region', { name: 'Sync status' });

export const orderRow = (page: Page, customer: string) =>
  page.getByRole('list', { name: 'Orders' }).getByRole('listitem').filter({ hasText: customer });

/** The Content-Security-Policy the built page carries in its meta tag. */
export const pagePolicy = (page: Page): Promise<string | null | undefined> =>
  page.evaluate(() =>
    document.querySelector('meta[http-equiv="Content-Security-Policy"]')?.getAttribute('content'),
  );

export interface UiCountPlan {
  readonly location: string;
  /** Sku and the quantity counted on the shelf. */
  readonly lines: readonly (readonly [sku: string, quantity: number])[];
}

/** Stock counts → start a count at the location → record each line → submit, all through the forms. */
export async function takeCount(page: Page, plan: UiCountPlan): Promise<void> {
  await nav(page, 'Stock counts').click();
  await page.getByLabel('Location').fill(plan.location);
  await page.getByRole('button', { name: 'Start count' }).click();
  await page.getByRole('heading', { level: 1, name: `Count of ${plan.location}` }).waitFor();
  for (const [index, [sku, quantity]] of plan.lines.entries()) {
    await page.getByRole('combobox', { name: 'Product' }).fill(sku);
    await page.getByLabel('Counted', { exact: true }).fill(String(quantity));
    await page.getByRole('button', { name: 'Record', exact: true }).click();
    // The sheet shows the line once the command committed: one row per line, plus the header.
    await page.getByRole('table').first().locator('tbody tr').nth(index).filter({ hasText: sku }).waitFor();
  }
  await page.getByRole('button', { name: 'Submit count' }).click();
  await page.getByText('Submitted', { exact: true }).waitFor();
}

export const countRow = (page: Page, location: string) =>
  page.getByRole('list', { name: 'Stock counts' }).getByRole('listitem').filter({ hasText: location });
