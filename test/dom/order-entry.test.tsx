import { act, cleanup, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { UNDO_MS } from '../../src/orders/page/order-lines';
import type { OrderSummary } from '../../src/orders/read-models';
import { streamIdOf } from '../../src/orders/stream-ids';
import { readModelTable } from '../../src/outbox/page';
import { App } from '../../src/ui/app';
import { formatMoney } from '../../src/ui/format';
import { createTestOutpost, seedOrder, snapshot, type TestOutpost } from './support/test-outpost';

/**
 * Issue 23: an order entered at the counter from the keyboard or a scanner, its lines edited in place, a
 * removal undone by a command, and a refused order copied into a new one, online and offline.
 */

const ESPRESSO = { sku: 'COF-ESP-1KG', name: 'Espresso beans, 1 kg', unitPrice: 2490, quantity: 2 };
const HAZELNUT = {
  sku: 'DISC-SYR-HAZ',
  name: 'Hazelnut syrup, 750 ml (discontinued)',
  unitPrice: 990,
  quantity: 1,
};

let outpost: TestOutpost;

afterEach(async () => {
  vi.useRealTimers();
  cleanup();
  await outpost.settle();
  outpost.db.close();
  window.location.hash = '';
});

async function openOrder(lines: (typeof ESPRESSO)[] = [], online = false) {
  outpost = await createTestOutpost({ online });
  const orderId = await seedOrder(outpost, 'Counter Café', lines);
  window.location.hash = `#/orders/${orderId}`;
  render(<App outpost={outpost} ids={outpost.ids} />);
  const search = (await screen.findByRole('combobox', { name: 'Product' })) as HTMLInputElement;
  return { orderId, search };
}

/** The order's client events after its creation, as `type sku quantity`, in version order. */
async function history(orderId: string): Promise<string[]> {
  const events = await outpost.db.events.where('streamId').equals(streamIdOf(orderId)).sortBy('version');
  return events
    .filter((event) => event.kind === 'client' && event.type !== 'OrderCreated')
    .map((event) => {
      const data = event.data as { sku?: string; quantity?: number };
      return [event.type, data.sku, data.quantity].filter((part) => part !== undefined).join(' ');
    });
}

const listbox = () => screen.getByRole('listbox', { name: 'Product matches' });
const highlighted = (search: HTMLInputElement) =>
  document.getElementById(search.getAttribute('aria-activedescendant') ?? '')?.textContent ?? null;
const describedText = (control: HTMLElement) =>
  (control.getAttribute('aria-describedby') ?? '')
    .split(' ')
    .map((id) => document.getElementById(id)?.textContent ?? '')
    .join(' ');
const linesOnScreen = () =>
  screen.queryAllByLabelText(/^Quantity of /).map((input) => ({
    sku: input.closest('tr')?.querySelector('.sku')?.textContent,
    quantity: Number((input as HTMLInputElement).value),
  }));

describe('the product search', () => {
  it('finds products by name as you type, with prices, and adds the highlighted one with Enter', async () => {
    const user = userEvent.setup();
    const { orderId, search } = await openOrder();
    await user.type(search, 'tea');

    expect(search.getAttribute('aria-expanded')).toBe('true');
    const options = within(listbox()).getAllByRole('option');
    expect(options.map((option) => option.textContent)).toEqual([
      `Green tea, 100 bagsTEA-GRN-100${formatMoney(890, 'EUR')}`,
      `Black tea, 100 bagsTEA-BLK-100${formatMoney(790, 'EUR')}`,
      `Herbal tea, 50 bagsTEA-HRB-50${formatMoney(650, 'EUR')}`,
    ]);
    expect(highlighted(search)).toContain('Green tea');

    await user.keyboard('{ArrowDown}');
    expect(highlighted(search)).toContain('Black tea');
    await user.keyboard('{ArrowUp}{ArrowUp}');
    expect(highlighted(search)).toContain('Herbal tea');
    await user.keyboard('{Enter}');

    await waitFor(async () => expect(await history(orderId)).toEqual(['ProductAdded TEA-HRB-50 1']));
    expect(search.value).toBe('');
    expect(document.activeElement).toBe(search);
    await waitFor(() => expect(linesOnScreen()).toEqual([{ sku: 'TEA-HRB-50', quantity: 1 }]));
  });

  it('closes the list with Escape and keeps the text; a second Escape clears it', async () => {
    const user = userEvent.setup();
    const { search } = await openOrder();
    await user.type(search, 'cups');
    expect(search.getAttribute('aria-expanded')).toBe('true');

    await user.keyboard('{Escape}');
    expect(search.getAttribute('aria-expanded')).toBe('false');
    expect(search.getAttribute('aria-activedescendant')).toBeNull();
    expect(search.value).toBe('cups');
    await user.keyboard('{Escape}');
    expect(search.value).toBe('');
  });

  it('says no product matches, keeps the typed text and writes nothing on Enter', async () => {
    const user = userEvent.setup();
    const { search } = await openOrder();
    const before = await snapshot(outpost.db);
    await user.type(search, 'croissant');
    expect(screen.getByText('No product matches “croissant”', { selector: '[role="status"]' })).toBeTruthy();
    await user.keyboard('{Enter}');

    expect(search.getAttribute('aria-invalid')).toBe('true');
    expect(describedText(search)).toBe('No product matches “croissant”: check the code, or search by name');
    expect(search.value).toBe('croissant');
    expect(await snapshot(outpost.db)).toEqual(before);
  });

  it('marks a discontinued product, adds it, and says the server will refuse the order', async () => {
    const user = userEvent.setup();
    const { orderId, search } = await openOrder();
    await user.type(search, 'hazelnut');
    const [option] = within(listbox()).getAllByRole('option');
    expect(option?.textContent).toContain('Discontinued');
    expect(describedText(search)).toMatch(/discontinued: it can be added, but the server will refuse/);

    await user.keyboard('{Enter}');
    await waitFor(async () => expect(await history(orderId)).toEqual(['ProductAdded DISC-SYR-HAZ 1']));
    expect(describedText(search)).toMatch(
      /discontinued: the server will refuse this order while it holds it/,
    );
    const row = (await screen.findByLabelText(`Quantity of ${HAZELNUT.name}`)).closest('tr');
    expect(row?.textContent).toContain('Discontinued: the server will refuse this order');
  });

  it('refuses a quantity out of range or not a number next to the field, keeping the product typed', async () => {
    const user = userEvent.setup();
    const { search } = await openOrder();
    const before = await snapshot(outpost.db);
    const quantity = screen.getByLabelText('Quantity');
    for (const [typed, message] of [
      ['1000', 'Quantity must be at most 999'],
      ['2.5', 'Quantity must be a whole number'],
      ['', 'Quantity must be a number'],
    ] as const) {
      await user.clear(quantity);
      if (typed) await user.type(quantity, typed);
      await user.clear(search);
      await user.type(search, 'COF-ESP-1KG{Enter}');
      expect(describedText(quantity)).toBe(message);
      expect(search.value).toBe('COF-ESP-1KG');
    }
    expect(await snapshot(outpost.db)).toEqual(before);
  });

  it('takes a whole order from the keyboard: search, Tab to the quantity, Enter, and back to the search', async () => {
    const user = userEvent.setup();
    const { orderId, search } = await openOrder();
    await user.click(search);
    await user.keyboard('espresso{Tab}');
    expect(search.value).toBe(ESPRESSO.name);
    expect(document.activeElement).toBe(screen.getByLabelText('Quantity'));
    await user.keyboard('{Control>}a{/Control}3{Enter}');
    await waitFor(() => expect(document.activeElement).toBe(search));
    await user.keyboard('oat drink{Enter}');
    await user.keyboard('MLK-WHL-1L{Enter}');

    await waitFor(async () =>
      expect(await history(orderId)).toEqual([
        'ProductAdded COF-ESP-1KG 3',
        'ProductAdded MLK-OAT-1L 1',
        'ProductAdded MLK-WHL-1L 1',
      ]),
    );
    expect(search.value).toBe('');
  });

  it('adds every code a scanner types, each with its Enter, in order, the same code twice as two', async () => {
    const { orderId, search } = await openOrder();
    const codes = ['COF-ESP-1KG', 'MLK-OAT-1L', 'COF-ESP-1KG', 'TEA-GRN-100', 'cup-pap-250', 'LID-PAP-50'];
    // One task, no await between codes: every code and its Enter land while earlier adds are in flight.
    for (const code of codes) {
      fireEvent.change(search, { target: { value: code } });
      fireEvent.keyDown(search, { key: 'Enter' });
    }

    await waitFor(async () =>
      expect(await history(orderId)).toEqual([
        'ProductAdded COF-ESP-1KG 1',
        'ProductAdded MLK-OAT-1L 1',
        'ProductAdded COF-ESP-1KG 1',
        'ProductAdded TEA-GRN-100 1',
        'ProductAdded CUP-PAP-250 1',
        'ProductAdded LID-PAP-50 1',
      ]),
    );
    await waitFor(() =>
      expect(linesOnScreen()).toEqual([
        { sku: 'COF-ESP-1KG', quantity: 2 },
        { sku: 'MLK-OAT-1L', quantity: 1 },
        { sku: 'TEA-GRN-100', quantity: 1 },
        { sku: 'CUP-PAP-250', quantity: 1 },
        { sku: 'LID-PAP-50', quantity: 1 },
      ]),
    );
    expect(search.value).toBe('');
  });
});

describe('the lines of a draft', () => {
  it('saves a quantity typed in place with Enter, and Escape puts the saved one back', async () => {
    const user = userEvent.setup();
    const { orderId } = await openOrder([ESPRESSO]);
    const quantity = (await screen.findByLabelText(`Quantity of ${ESPRESSO.name}`)) as HTMLInputElement;
    await user.clear(quantity);
    await user.type(quantity, '7{Enter}');
    await waitFor(async () =>
      expect(await history(orderId)).toEqual([
        'ProductAdded COF-ESP-1KG 2',
        'ProductRemoved COF-ESP-1KG',
        'ProductAdded COF-ESP-1KG 7',
      ]),
    );
    await waitFor(() => expect(screen.getByRole('row', { name: /Total/ }).textContent).toMatch(/174[.,]30/));

    await user.clear(quantity);
    await user.type(quantity, '9{Escape}');
    expect(quantity.value).toBe('7');
    expect(await history(orderId)).toHaveLength(3);
  });

  it('removes a line at once and undoes it with a command that adds it back as it was', async () => {
    const user = userEvent.setup();
    const { orderId, search } = await openOrder([ESPRESSO]);
    await user.click(await screen.findByRole('button', { name: `Remove ${ESPRESSO.name}` }));

    const undo = await screen.findByRole('button', { name: `Undo removing ${ESPRESSO.name}` });
    await waitFor(() => expect(document.activeElement).toBe(undo));
    expect(screen.getByText(`Removed 2 × ${ESPRESSO.name}.`)).toBeTruthy();
    expect(linesOnScreen()).toEqual([]);
    expect(await history(orderId)).toEqual(['ProductAdded COF-ESP-1KG 2', 'ProductRemoved COF-ESP-1KG']);

    await user.click(undo);
    await waitFor(() => expect(linesOnScreen()).toEqual([{ sku: 'COF-ESP-1KG', quantity: 2 }]));
    expect(await history(orderId)).toEqual([
      'ProductAdded COF-ESP-1KG 2',
      'ProductRemoved COF-ESP-1KG',
      'ProductAdded COF-ESP-1KG 2',
    ]);
    expect(screen.queryByRole('button', { name: /^Undo/ })).toBeNull();
    expect(document.activeElement).toBe(search);
  });

  it('stops offering the undo after a while, and the removal stays as it was written', async () => {
    const user = userEvent.setup();
    const { orderId, search } = await openOrder([ESPRESSO]);
    await user.click(await screen.findByRole('button', { name: `Remove ${ESPRESSO.name}` }));
    const undo = await screen.findByRole('button', { name: /^Undo/ });
    // The offer takes the focus once it is on the screen; only then does the person move on, or the offer
    // would take the focus back after them.
    await waitFor(() => expect(document.activeElement).toBe(undo));
    // The person moves on: the offer no longer holds the focus, and its time runs out.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    act(() => search.focus());
    act(() => vi.advanceTimersByTime(UNDO_MS - 100));
    expect(screen.queryByRole('button', { name: /^Undo/ })).not.toBeNull();
    act(() => vi.advanceTimersByTime(200));
    vi.useRealTimers();

    expect(screen.queryByRole('button', { name: /^Undo/ })).toBeNull();
    expect(await history(orderId)).toEqual(['ProductAdded COF-ESP-1KG 2', 'ProductRemoved COF-ESP-1KG']);
  });
});

describe('Copy to a new order', () => {
  /** An order holding a discontinued product, placed and rejected by the (in-process) server. */
  async function rejectedOrder() {
    const { orderId } = await openOrder([ESPRESSO, HAZELNUT], true);
    const placed = await outpost.execute({ command: { type: 'PlaceOrder', orderId } });
    if (!placed.ok) throw placed.error;
    await screen.findByText(/^Rejected: Discontinued: DISC-SYR-HAZ/, {}, { timeout: 5000 });
    return orderId;
  }

  const summaryOf = (id: string) => readModelTable<OrderSummary>(outpost.db, 'orders').get(id);

  async function copyAndOpen(rejectedId: string) {
    const user = userEvent.setup();
    expect(
      screen.getByText(/with 1 of 2 lines, without DISC-SYR-HAZ, which the server refused/),
    ).toBeTruthy();
    await user.click(screen.getByRole('button', { name: 'Copy to a new order' }));
    await waitFor(() => expect(window.location.hash).not.toBe(`#/orders/${rejectedId}`));
    const copyId = window.location.hash.slice('#/orders/'.length);
    await screen.findByRole('heading', { level: 1, name: 'Counter Café' });
    await waitFor(() => expect(linesOnScreen()).toEqual([{ sku: 'COF-ESP-1KG', quantity: 2 }]));
    const back = await screen.findByRole('link', { name: 'an earlier order' });
    expect(back.getAttribute('href')).toBe(`#/orders/${rejectedId}`);
    expect(await summaryOf(copyId)).toMatchObject({ status: 'draft', copiedFrom: rejectedId, total: 4980 });
    return { copyId, user };
  }

  it('creates a draft for the same customer without the refused lines, opens it, and links both ways', async () => {
    const rejectedId = await rejectedOrder();
    const { copyId, user } = await copyAndOpen(rejectedId);

    await user.click(screen.getByRole('link', { name: 'an earlier order' }));
    const forward = await screen.findByRole('link', { name: 'a new order' });
    expect(forward.getAttribute('href')).toBe(`#/orders/${copyId}`);
    // Copied once: the link replaces the offer.
    expect(screen.queryByRole('button', { name: 'Copy to a new order' })).toBeNull();
    expect(await summaryOf(rejectedId)).toMatchObject({ status: 'rejected', copiedFrom: null });
  });

  it('works offline: the copy is saved on the device and waits in the outbox', async () => {
    const rejectedId = await rejectedOrder();
    act(() => outpost.network.next(false));
    await screen.findByText('Offline');
    const { copyId } = await copyAndOpen(rejectedId);

    const pending = await outpost.db.outbox.where('streamId').equals(streamIdOf(copyId)).toArray();
    expect(pending.map((row) => row.status)).toEqual(['pending', 'pending']);
    const created = await outpost.db.events.where('streamId').equals(streamIdOf(copyId)).first();
    expect(created?.data).toMatchObject({ copiedFrom: rejectedId, customerName: 'Counter Café' });
  });
});
