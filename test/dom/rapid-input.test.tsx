import { cleanup, fireEvent, render, screen, waitFor } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Outpost } from '../../src/app/outpost';
import { catalog, isDiscontinued } from '../../src/catalog/products';
import { streamIdOf } from '../../src/orders/stream-ids';
import type { CommandRequest, CommandResult } from '../../src/outbox/device/commands/command-pipeline';
import { App } from '../../src/ui/app';
import { createTestOutpost, seedOrder, type TestOutpost } from './support/test-outpost';

/**
 * Issue 12, item 6: a person's input is never dropped silently. Each test makes its submits in one task,
 * without awaiting anything in between, faster than any render or commit can follow: the second click lands
 * while the first command is still in flight.
 */

let outpost: TestOutpost;
/** Every command the screen sent and the answer it got, in the order they were sent. */
let sent: { request: CommandRequest; answer: Promise<CommandResult> }[];

beforeEach(async () => {
  outpost = await createTestOutpost();
  sent = [];
});

afterEach(async () => {
  cleanup();
  await outpost.settle();
  outpost.db.close();
  window.location.hash = '';
});

/**
 * How long a screen or a burst may take to load, be stored and shown: twenty commits on fake-indexeddb take
 * about a second on an idle machine and more under load, beyond `waitFor`'s one-second default. A bound, not a
 * pause.
 */
const BURST_BOUND = { timeout: 15_000 };

/** `unloadable`: the first command finds the write side's code could not be loaded (a lost chunk). */
async function openOrder(customer: string, { unloadable = false } = {}) {
  const orderId = await seedOrder(outpost, customer);
  const recording: Outpost = {
    ...outpost,
    execute(request) {
      const answer =
        unloadable && sent.length === 0
          ? Promise.reject(new TypeError('Failed to fetch dynamically imported module'))
          : outpost.execute(request);
      sent.push({ request, answer });
      return answer;
    },
  };
  window.location.hash = `#/orders/${orderId}`;
  render(<App outpost={recording} ids={outpost.ids} />);
  // The order screen's code loads on first use, beyond findBy's one second under load.
  const form = await screen.findByRole('form', { name: 'Add a product' }, BURST_BOUND);
  return {
    orderId,
    form,
    /** Chooses a product and a quantity and presses "Add to order", synchronously, as fast events do. */
    add(sku: string, quantity: number) {
      fireEvent.change(screen.getByRole('combobox', { name: 'Product' }), { target: { value: sku } });
      fireEvent.change(screen.getByLabelText('Quantity'), { target: { value: String(quantity) } });
      fireEvent.click(screen.getByRole('button', { name: 'Add to order' }));
    },
  };
}

/** The ProductAdded events stored for the order, in version order: what will be sent, and in which order. */
async function storedLines(orderId: string) {
  const events = await outpost.db.events.where('streamId').equals(streamIdOf(orderId)).sortBy('version');
  return events
    .filter((event) => event.type === 'ProductAdded')
    .map((event) => {
      const { sku, quantity } = event.data as { sku: string; quantity: number };
      return { sku, quantity };
    });
}

/** The lines the order screen shows, top to bottom: each line's sku and quantity. */
const linesOnScreen = () =>
  screen.getAllByLabelText(/^Quantity of /).map((input) => ({
    sku: input.closest('tr')?.querySelector('.sku')?.textContent,
    quantity: Number((input as HTMLInputElement).value),
  }));

const settled = (form: HTMLElement) =>
  waitFor(() => expect(form.getAttribute('aria-busy')).toBe('false'), BURST_BOUND);

describe('"Add to order" pressed faster than the screen renders', () => {
  it('stores all 20 lines of 20 back-to-back submits, in the order they were made', async () => {
    const { orderId, form, add } = await openOrder('Dockside Deli');
    const products = catalog.filter((product) => !isDiscontinued(product.sku)).slice(0, 20);
    expect(products).toHaveLength(20);

    for (const [index, product] of products.entries()) add(product.sku, index + 1);

    const expected = products.map((product, index) => ({ sku: product.sku, quantity: index + 1 }));
    await waitFor(async () => expect(await storedLines(orderId)).toEqual(expected), BURST_BOUND);
    await waitFor(() => expect(linesOnScreen()).toEqual(expected), BURST_BOUND);
    await settled(form);
    // Twenty commands, each under its own id, each written once.
    const answers = await Promise.all(sent.map((entry) => entry.answer));
    expect(answers.every((answer) => answer.ok && !answer.value.duplicate)).toBe(true);
    expect(new Set(sent.map((entry) => entry.request.commandId)).size).toBe(20);
    // The form is ready for the next line once the last one is in.
    expect((screen.getByRole('combobox', { name: 'Product' }) as HTMLInputElement).value).toBe('');
  });

  it('answers a double click as a repeat of the first: one line, one command id, written once', async () => {
    const { orderId, form } = await openOrder('Harbour Café');
    fireEvent.change(screen.getByRole('combobox', { name: 'Product' }), { target: { value: 'COF-ESP-1KG' } });
    fireEvent.change(screen.getByLabelText('Quantity'), { target: { value: '2' } });
    const button = screen.getByRole('button', { name: 'Add to order' });
    fireEvent.click(button);
    fireEvent.click(button);

    await settled(form);
    expect(sent).toHaveLength(2);
    const [first, second] = await Promise.all(sent.map((entry) => entry.answer));
    expect(sent[1]?.request.commandId).toBe(sent[0]?.request.commandId);
    expect(first?.ok && first.value.duplicate).toBe(false);
    expect(second?.ok && second.value.duplicate).toBe(true);
    expect(await storedLines(orderId)).toEqual([{ sku: 'COF-ESP-1KG', quantity: 2 }]);
    await waitFor(() => expect(linesOnScreen()).toEqual([{ sku: 'COF-ESP-1KG', quantity: 2 }]));
  });

  it('keeps every refusal of a burst on screen, however many submits after it succeed', async () => {
    const { orderId, form, add } = await openOrder('Quay Bakery');
    add('COF-ESP-1KG', 600);
    add('COF-ESP-1KG', 500); // refused by the order: the line would reach 1100, over the 999 limit
    add('MLK-OAT-1L', 0); // refused by the form before anything is sent: a quantity is at least 1
    add('SUG-CUB-1KG', 3);

    await settled(form);
    expect(await storedLines(orderId)).toEqual([
      { sku: 'COF-ESP-1KG', quantity: 600 },
      { sku: 'SUG-CUB-1KG', quantity: 3 },
    ]);
    const answers = await Promise.all(sent.map((entry) => entry.answer));
    expect(answers.map((answer) => answer.ok)).toEqual([true, false, true]);
    expect(sent.map((entry) => (entry.request.command as { sku: string }).sku)).not.toContain('MLK-OAT-1L');
    // Both refusals sit next to the field they are about, the later success notwithstanding.
    const quantity = screen.getByLabelText('Quantity');
    expect(quantity.getAttribute('aria-invalid')).toBe('true');
    const message = document.getElementById(quantity.getAttribute('aria-describedby') ?? '')?.textContent;
    expect(message).toContain('COF-ESP-1KG would reach 1100; at most 999 per line');
    expect(message).toContain('Quantity must be at least 1');
  });

  it('says so when a line could not be saved at all, and still saves the lines after it', async () => {
    const { orderId, form, add } = await openOrder('Pier Kiosk', { unloadable: true });
    add('TEA-GRN-100', 1);
    add('TEA-BLK-100', 2);

    await settled(form);
    expect(await storedLines(orderId)).toEqual([{ sku: 'TEA-BLK-100', quantity: 2 }]);
    expect(screen.getByRole('alert').textContent).toBe(
      'Nothing was saved: the app could not get ready to save (Failed to fetch dynamically imported module). Try again.',
    );
  });
});
