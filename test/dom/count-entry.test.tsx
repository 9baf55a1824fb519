import { cleanup, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it } from 'vitest';
import { MAX_COUNTED_QUANTITY } from '../../src/stockcount/domain/fields';
import { streamIdOf } from '../../src/stockcount/stream-ids';
import { App } from '../../src/ui/app';
import { createTestOutpost, type TestOutpost } from './support/test-outpost';

/**
 * A stockroom counted from the keyboard or a scanner, the way an order is entered: the product search, a
 * Counted figure added to the product's line (one per scan unless typed), Enter records, the focus stays in
 * the search, a refused input says why next to its field and writes nothing, and a scanner's burst lands in
 * order with every scan counted.
 */

let outpost: TestOutpost;

afterEach(async () => {
  cleanup();
  await outpost.settle();
  outpost.db.close();
  window.location.hash = '';
});

async function openCount(lines: readonly (readonly [sku: string, quantity: number])[] = []) {
  outpost = await createTestOutpost();
  const countId = outpost.ids();
  const run = async (command: Record<string, unknown>) => {
    const result = await outpost.execute({ command: { countId, ...command } });
    if (!result.ok) throw result.error;
  };
  await run({ type: 'StartCount', location: 'WH-01' });
  for (const [sku, quantity] of lines) await run({ type: 'RecordQuantity', sku, quantity });
  window.location.hash = `#/counts/${countId}`;
  render(<App outpost={outpost} ids={outpost.ids} />);
  const search = (await screen.findByRole('combobox', { name: 'Product' })) as HTMLInputElement;
  const counted = screen.getByLabelText('Counted') as HTMLInputElement;
  return { countId, search, counted };
}

/** The count's QuantityRecorded events as `sku quantity`, in version order: what the device will send. */
async function history(countId: string): Promise<string[]> {
  const events = await outpost.db.events.where('streamId').equals(streamIdOf(countId)).sortBy('version');
  return events
    .filter((event) => event.kind === 'client' && event.type === 'QuantityRecorded')
    .map((event) => {
      const data = event.data as { sku: string; quantity: number };
      return `${data.sku} ${data.quantity}`;
    });
}

/** Everything the device holds that a refused input must leave alone. */
const written = async () => ({
  events: await outpost.db.events.count(),
  outbox: await outpost.db.outbox.count(),
  commands: await outpost.db.commands.count(),
});

const highlighted = (search: HTMLInputElement) =>
  document.getElementById(search.getAttribute('aria-activedescendant') ?? '')?.textContent ?? null;
const describedText = (control: HTMLElement) =>
  (control.getAttribute('aria-describedby') ?? '')
    .split(' ')
    .map((id) => document.getElementById(id)?.textContent ?? '')
    .join(' ');
/** The sheet's lines top to bottom, read from each line's own Counted box. */
const sheet = () =>
  screen.queryAllByLabelText(/^Counted .+/).map((input) => ({
    sku: input.closest('tr')?.querySelector('.sku')?.textContent,
    quantity: Number((input as HTMLInputElement).value),
  }));

describe('recording a count from the keyboard', () => {
  it('finds products by name without prices, and records the highlighted one with Enter, one unit', async () => {
    const user = userEvent.setup();
    const { countId, search, counted } = await openCount();
    expect(counted.value).toBe('1');
    await user.type(search, 'tea');

    const options = within(screen.getByRole('listbox', { name: 'Product matches' })).getAllByRole('option');
    expect(options.map((option) => option.textContent)).toEqual([
      'Green tea, 100 bagsTEA-GRN-100',
      'Black tea, 100 bagsTEA-BLK-100',
      'Herbal tea, 50 bagsTEA-HRB-50',
    ]);
    await user.keyboard('{ArrowDown}');
    expect(highlighted(search)).toContain('Black tea');
    await user.keyboard('{Enter}');

    await waitFor(async () => expect(await history(countId)).toEqual(['TEA-BLK-100 1']));
    expect(search.value).toBe('');
    expect(document.activeElement).toBe(search);
    await waitFor(() => expect(sheet()).toEqual([{ sku: 'TEA-BLK-100', quantity: 1 }]));
  });

  it('counts a discontinued product still on the shelf without the order warning', async () => {
    const user = userEvent.setup();
    const { countId, search } = await openCount();
    await user.type(search, 'hazelnut');
    const [option] = within(screen.getByRole('listbox', { name: 'Product matches' })).getAllByRole('option');
    expect(option?.textContent).toContain('Discontinued');
    expect(describedText(search)).not.toMatch(/refuse/);

    await user.keyboard('{Enter}');
    await waitFor(async () => expect(await history(countId)).toEqual(['DISC-SYR-HAZ 1']));
  });

  it("adds a typed figure to the line, a scan adds one more, and the line's own box replaces the total", async () => {
    const user = userEvent.setup();
    const { countId, search, counted } = await openCount();
    await user.click(search);
    await user.keyboard('espresso{Tab}');
    expect(document.activeElement).toBe(counted);
    await user.keyboard('{Control>}a{/Control}12{Enter}');
    await waitFor(() => expect(document.activeElement).toBe(search));
    expect(counted.value).toBe('1');
    // The same product on the next shelf: scanned once.
    await user.keyboard('COF-ESP-1KG{Enter}');
    await waitFor(async () => expect(await history(countId)).toEqual(['COF-ESP-1KG 12', 'COF-ESP-1KG 13']));
    await waitFor(() => expect(sheet()).toEqual([{ sku: 'COF-ESP-1KG', quantity: 13 }]));

    const line = screen.getByLabelText('Counted Espresso beans, 1 kg');
    await user.clear(line);
    await user.type(line, '10{Enter}');
    await waitFor(async () => expect((await history(countId)).at(-1)).toBe('COF-ESP-1KG 10'));
    await user.click(search);
    await user.keyboard('COF-ESP-1KG{Enter}');
    await waitFor(async () => expect((await history(countId)).at(-1)).toBe('COF-ESP-1KG 11'));
  });

  it('says no product matches, keeps the typed text and writes nothing', async () => {
    const user = userEvent.setup();
    const { search } = await openCount();
    const before = await written();
    await user.type(search, 'croissant{Enter}');

    expect(search.getAttribute('aria-invalid')).toBe('true');
    expect(describedText(search)).toBe('No product matches “croissant”: check the code, or search by name');
    expect(search.value).toBe('croissant');
    await user.click(screen.getByRole('button', { name: 'Record' }));
    expect(describedText(search)).toBe('No product matches “croissant”: check the code, or search by name');
    expect(await written()).toEqual(before);
  });

  it('refuses a Counted figure out of range or not a number next to it, by the command schema', async () => {
    const user = userEvent.setup();
    const { search, counted } = await openCount();
    const before = await written();
    for (const [typed, message] of [
      ['100000', `Quantity must be at most ${MAX_COUNTED_QUANTITY}`],
      ['-1', 'Quantity cannot be negative'],
      ['2.5', 'Quantity must be a whole number'],
      ['', 'Quantity must be a number'],
    ] as const) {
      await user.clear(counted);
      if (typed) await user.type(counted, typed);
      await user.clear(search);
      await user.type(search, 'TEA-GRN-100{Enter}');
      expect(describedText(counted)).toBe(message);
      expect(search.value).toBe('TEA-GRN-100');
    }
    expect(await written()).toEqual(before);
  });

  it('says next to Counted when a scan would take a line past the most it holds, and records nothing', async () => {
    const user = userEvent.setup();
    const { countId, search, counted } = await openCount([['TEA-GRN-100', MAX_COUNTED_QUANTITY]]);
    await user.type(search, 'TEA-GRN-100{Enter}');

    await waitFor(() => expect(describedText(counted)).toMatch(/^That makes 100000 of TEA-GRN-100/));
    expect(await history(countId)).toEqual([`TEA-GRN-100 ${MAX_COUNTED_QUANTITY}`]);
  });

  it('records a double-clicked line once', async () => {
    const user = userEvent.setup();
    const { countId, search, counted } = await openCount();
    await user.type(search, 'TEA-GRN-100');
    await user.clear(counted);
    await user.type(counted, '4');
    await user.dblClick(screen.getByRole('button', { name: 'Record' }));

    await waitFor(() => expect(sheet()).toEqual([{ sku: 'TEA-GRN-100', quantity: 4 }]));
    await outpost.settle();
    expect(await history(countId)).toEqual(['TEA-GRN-100 4']);
  });
});

describe('a scanner on a count', () => {
  it('counts every code it types, each with its Enter, in order, the same code again as one more', async () => {
    const { countId, search } = await openCount();
    const codes = ['COF-ESP-1KG', 'MLK-OAT-1L', 'COF-ESP-1KG', 'TEA-GRN-100', 'cup-pap-250', 'COF-ESP-1KG'];
    // One task, no await between codes: every code and its Enter land while earlier records are in flight.
    for (const code of codes) {
      fireEvent.change(search, { target: { value: code } });
      fireEvent.keyDown(search, { key: 'Enter' });
    }

    await waitFor(async () =>
      expect(await history(countId)).toEqual([
        'COF-ESP-1KG 1',
        'MLK-OAT-1L 1',
        'COF-ESP-1KG 2',
        'TEA-GRN-100 1',
        'CUP-PAP-250 1',
        'COF-ESP-1KG 3',
      ]),
    );
    await waitFor(() =>
      expect(sheet()).toEqual([
        { sku: 'COF-ESP-1KG', quantity: 3 },
        { sku: 'MLK-OAT-1L', quantity: 1 },
        { sku: 'TEA-GRN-100', quantity: 1 },
        { sku: 'CUP-PAP-250', quantity: 1 },
      ]),
    );
    expect(search.value).toBe('');
    expect(search.getAttribute('aria-invalid')).toBe('false');
  });
});
