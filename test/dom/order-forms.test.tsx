import { cleanup, render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { App } from '../../src/ui/app';
import { orderSummary } from '../support/order-rows';
import {
  createTestOutpost,
  killEntry,
  seedOrder,
  sendEverything,
  snapshot,
  type TestOutpost,
} from './support/test-outpost';

const ESPRESSO = { sku: 'COF-ESP-1KG', name: 'Espresso beans, 1 kg', unitPrice: 2490, quantity: 2 };

/** The message element a control points at through aria-describedby. */
function describedText(control: HTMLElement): string {
  const ids = control.getAttribute('aria-describedby')?.split(' ') ?? [];
  return ids.map((id) => document.getElementById(id)?.textContent ?? '').join(' ');
}

function expectFieldError(control: HTMLElement, message: string | RegExp) {
  expect(control.getAttribute('aria-invalid')).toBe('true');
  expect(describedText(control)).toMatch(message);
}

let outpost: TestOutpost;

function renderAt(hash: string) {
  window.location.hash = hash;
  return render(<App outpost={outpost} ids={outpost.ids} />);
}

beforeEach(async () => {
  outpost = await createTestOutpost();
});

afterEach(async () => {
  cleanup();
  await outpost.settle();
  outpost.db.close();
  window.location.hash = '';
});

describe('new order form', () => {
  it('shows each bad field its own message and saves nothing', async () => {
    const user = userEvent.setup();
    renderAt('#/new');
    const currency = await screen.findByLabelText('Currency');
    await user.clear(currency);
    await user.type(currency, 'EURO');
    await user.click(screen.getByRole('button', { name: 'Create order' }));

    expectFieldError(await screen.findByLabelText('Customer name'), 'Customer name is required');
    expectFieldError(currency, /Unknown currency/);
    expect(await snapshot(outpost.db)).toEqual({ events: 0, outbox: 0, summaries: [], commands: 0 });
  });

  it('creates the order once however often the button is pressed, then opens it', async () => {
    const user = userEvent.setup();
    renderAt('#/new');
    await user.type(await screen.findByLabelText('Customer name'), 'Harbour Café');
    const create = screen.getByRole('button', { name: 'Create order' });
    await user.dblClick(create);

    await screen.findByRole('heading', { level: 1, name: 'Harbour Café' });
    const { events, summaries } = await snapshot(outpost.db);
    expect(events).toBe(1);
    expect(summaries.map((summary) => summary.customerName)).toEqual(['Harbour Café']);
  });
});

describe('order detail forms', () => {
  it('refuses a product without a choice or with a bad quantity, next to each field, writing nothing', async () => {
    const user = userEvent.setup();
    const orderId = await seedOrder(outpost, 'Dockside Deli');
    renderAt(`#/orders/${orderId}`);
    const before = await snapshot(outpost.db);

    await user.click(await screen.findByRole('button', { name: 'Add to order' }));
    expectFieldError(screen.getByLabelText('Product'), 'Type a product name or code');

    await user.type(screen.getByLabelText('Product'), ESPRESSO.sku);
    const quantity = screen.getByLabelText('Quantity');
    await user.clear(quantity);
    await user.type(quantity, '0');
    await user.click(screen.getByRole('button', { name: 'Add to order' }));
    await waitFor(() => expectFieldError(quantity, 'Quantity must be at least 1'));
    expect(screen.getByLabelText('Product').getAttribute('aria-invalid')).toBe('false');
    expect(await snapshot(outpost.db)).toEqual(before);
  });

  it('adds a product, shows the total, and refuses a quantity over the limit without changing it', async () => {
    const user = userEvent.setup();
    const orderId = await seedOrder(outpost, 'Dockside Deli');
    renderAt(`#/orders/${orderId}`);
    await user.type(await screen.findByLabelText('Product'), ESPRESSO.sku);
    const quantity = screen.getByLabelText('Quantity');
    await user.clear(quantity);
    await user.type(quantity, '2');
    await user.click(screen.getByRole('button', { name: 'Add to order' }));

    const lineQuantity = await screen.findByLabelText(`Quantity of ${ESPRESSO.name}`);
    const total = screen.getByRole('row', { name: /Total/ });
    expect(total.textContent).toMatch(/49[.,]80/);
    const before = await snapshot(outpost.db);

    await user.clear(lineQuantity);
    await user.type(lineQuantity, '1000');
    await user.click(screen.getByRole('button', { name: `Update quantity of ${ESPRESSO.name}` }));
    await waitFor(() => expectFieldError(lineQuantity, 'Quantity must be at most 999'));
    expect(await snapshot(outpost.db)).toEqual(before);
    expect(before.summaries[0]?.total).toBe(4980);
  });

  it('asks for a reason before cancelling; no reason writes nothing, keeping the order closes the dialog', async () => {
    const user = userEvent.setup();
    const orderId = await seedOrder(outpost, 'Dockside Deli', [ESPRESSO]);
    renderAt(`#/orders/${orderId}`);
    await user.click(await screen.findByRole('button', { name: 'Cancel order' }));
    const dialog = screen.getByRole('dialog', { name: 'Cancel this order?' });
    const reason = within(dialog).getByLabelText('Reason for cancelling');
    expect(document.activeElement).toBe(reason);
    const before = await snapshot(outpost.db);

    await user.click(within(dialog).getByRole('button', { name: 'Cancel order' }));
    await waitFor(() => expectFieldError(reason, 'A reason is required'));
    expect(await snapshot(outpost.db)).toEqual(before);

    await user.click(within(dialog).getByRole('button', { name: 'Keep order' }));
    expect(screen.queryByRole('dialog')).toBeNull();
    expect(await snapshot(outpost.db)).toEqual(before);

    await user.click(screen.getByRole('button', { name: 'Cancel order' }));
    await user.type(screen.getByLabelText('Reason for cancelling'), 'Customer closed for winter');
    await user.click(within(screen.getByRole('dialog')).getByRole('button', { name: 'Cancel order' }));
    await waitFor(() => expect(screen.queryByRole('dialog')).toBeNull());
    const summary = await orderSummary(outpost.db, orderId);
    expect(summary?.status).toBe('cancelled');
    expect(summary?.cancellationReason).toBe('Customer closed for winter');
  });
});

describe('order timeline', () => {
  it('shows each event with its version, its delivery state, and what holds the order back', async () => {
    const orderId = await seedOrder(outpost, 'Dockside Deli', [
      ESPRESSO,
      { ...ESPRESSO, sku: 'MLK-OAT-1L', name: 'Oat drink, 1 l' },
    ]);
    await killEntry(outpost.db, orderId, 2, 'sku unknown to the server');
    renderAt(`#/orders/${orderId}`);

    const timeline = await screen.findByRole('list', { name: 'Timeline' });
    const entries = await within(timeline).findAllByRole('listitem');
    expect(entries.map((entry) => entry.querySelector('.timeline__head')?.textContent)).toEqual([
      expect.stringMatching(/^OrderCreatedv1.*Pending$/),
      expect.stringMatching(/^ProductAddedv2.*Dead$/),
      expect.stringMatching(/^ProductAddedv3.*Pending$/),
    ]);
    expect(entries[1]?.textContent).toContain('last error: sku unknown to the server · rejected:invalid');
    expect(entries[2]?.textContent).toContain('Waits for v2, which needs attention');
    expect(screen.getByRole('note').textContent).toMatch(/Held back:/);
  });

  it('shows entries in flight while their request hangs and delivered once the answer is recorded', async () => {
    const orderId = await seedOrder(outpost, 'Harbour Café', [ESPRESSO]);
    const sending = await sendEverything(outpost);
    renderAt(`#/orders/${orderId}`);

    const timeline = await screen.findByRole('list', { name: 'Timeline' });
    const heads = () =>
      within(timeline)
        .getAllByRole('listitem')
        .map((entry) => entry.querySelector('.timeline__head')?.textContent);
    await waitFor(() =>
      expect(heads()).toEqual([
        expect.stringMatching(/^OrderCreatedv1.*In flight$/),
        expect.stringMatching(/^ProductAddedv2.*In flight$/),
      ]),
    );
    // The order reads as sending while a lease names it; the claim did not rewrite its stored summary.
    expect(screen.getByText('Sending')).toBeTruthy();
    expect(await orderSummary(outpost.db, orderId)).toMatchObject({ syncState: 'local' });

    await sending.deliver();
    // Delivered rows are deleted: the timeline reads delivered from their absence.
    await waitFor(() =>
      expect(heads()).toEqual([
        expect.stringMatching(/^OrderCreatedv1.*Delivered$/),
        expect.stringMatching(/^ProductAddedv2.*Delivered$/),
      ]),
    );
    expect(await outpost.db.outbox.count()).toBe(0);
    expect(await orderSummary(outpost.db, orderId)).toMatchObject({ syncState: 'delivered' });
  });
});
