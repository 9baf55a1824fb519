import { cleanup, render, screen, waitFor, within } from '@testing-library/react';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { openAppDb } from '../../src/app/schema';
import { streamIdOf } from '../../src/orders/stream-ids';
import { App } from '../../src/ui/app';
import { formatMoney } from '../../src/ui/format';
import {
  createTestOutpost,
  killEntry,
  seedOrder,
  sendEverything,
  type TestOutpost,
} from './support/test-outpost';

/**
 * The orders list as the person sees it while the data under it changes: the list re-reads its window after
 * every write and draws again only the rows whose data changed, so each test changes one thing about one
 * order, from a different writer (a command, the sync engine, a lease running out, another tab), and expects
 * that row to say so, and the others to keep saying what they said.
 */

const ESPRESSO = { sku: 'COF-ESP-1KG', name: 'Espresso beans, 1 kg', unitPrice: 2490, quantity: 2 };
const FILTERS = { sku: 'FLT-V60-100', name: 'Paper filters V60, 100', unitPrice: 450, quantity: 1 };

let outpost: TestOutpost;

// happy-dom lays nothing out, so the list's scroller would measure 0 by 0 and the virtual list place no row:
// it gets the size of a phone's screen, every other element keeps what happy-dom says.
const SCROLLER: Readonly<Record<string, number>> = { clientWidth: 390, clientHeight: 640 };
const measured = Object.keys(SCROLLER).map((name) => ({
  name,
  own: Object.getOwnPropertyDescriptor(HTMLElement.prototype, name),
  inherited: Object.getOwnPropertyDescriptor(Element.prototype, name),
}));

beforeAll(() => {
  for (const { name, own, inherited } of measured) {
    Object.defineProperty(HTMLElement.prototype, name, {
      configurable: true,
      get(this: HTMLElement) {
        if (this.classList.contains('orders__scroller')) return SCROLLER[name];
        return (own ?? inherited)?.get?.call(this) ?? 0;
      },
    });
  }
});

afterAll(() => {
  for (const { name, own } of measured) {
    if (own) Object.defineProperty(HTMLElement.prototype, name, own);
    else Reflect.deleteProperty(HTMLElement.prototype, name);
  }
});

beforeEach(async () => {
  outpost = await createTestOutpost();
  window.location.hash = '#/orders';
  render(<App outpost={outpost} ids={outpost.ids} />);
  await screen.findByText('0 orders');
});

afterEach(async () => {
  cleanup();
  await outpost.settle();
  outpost.db.close();
  window.location.hash = '';
});

/** The list's row of the customer's order: its link, which holds everything the row shows. */
const rowOf = (customer: string) => screen.findByRole('link', { name: new RegExp(`^${customer}`) });

/** Waits until the customer's row shows `text`. */
async function expectRow(customer: string, text: string) {
  await waitFor(async () => expect((await rowOf(customer)).textContent).toContain(text));
}

describe('orders list', () => {
  it('shows each order and its total as the commands are written, each row with its own delivery', async () => {
    const ada = await seedOrder(outpost, 'Ada Lovelace', [ESPRESSO]);
    await expectRow('Ada Lovelace', formatMoney(4980, 'EUR'));
    await seedOrder(outpost, 'Grace Hopper');
    await screen.findByText('2 orders');
    await expectRow('Grace Hopper', formatMoney(0, 'EUR'));

    // A command on the older order: its row shows the new total, the other row is unchanged.
    const added = await outpost.execute({ command: { type: 'AddProduct', orderId: ada, ...FILTERS } });
    expect(added.ok).toBe(true);
    await expectRow('Ada Lovelace', formatMoney(5430, 'EUR'));
    expect((await rowOf('Grace Hopper')).textContent).toContain(formatMoney(0, 'EUR'));

    // The sync engine leases and then delivers both orders' entries: no command, only delivery rows change.
    const sending = await sendEverything(outpost);
    await expectRow('Ada Lovelace', 'Sending');
    await expectRow('Grace Hopper', 'Sending');
    await sending.deliver();
    await expectRow('Ada Lovelace', 'Delivered');
    await expectRow('Grace Hopper', 'Delivered');
  });

  it('says "Saved on device" again once the lease over an order passes with nobody delivering it', async () => {
    const ada = await seedOrder(outpost, 'Ada Lovelace', [ESPRESSO]);
    await seedOrder(outpost, 'Grace Hopper');
    await expectRow('Ada Lovelace', 'Saved on device');
    const eventIds = await outpost.db.outbox.where('streamId').equals(streamIdOf(ada)).primaryKeys();
    // A flusher that died holding Ada's entries: its lease runs out 50 ms from now on the app's clock.
    await outpost.db.leases.add({
      batchId: outpost.ids(),
      ownerId: 'dead-flusher',
      until: outpost.clock.now() + 50,
      eventIds,
      streamIds: [streamIdOf(ada)],
    });
    await expectRow('Ada Lovelace', 'Sending');
    expect((await rowOf('Grace Hopper')).textContent).toContain('Saved on device');
    // Nothing is written when a lease passes: only the list's own timer can bring the row back.
    outpost.clock.advance(100);
    await expectRow('Ada Lovelace', 'Saved on device');
  });

  it('shows what another tab wrote to an order of the list', async () => {
    const ada = await seedOrder(outpost, 'Ada Lovelace', [ESPRESSO]);
    await seedOrder(outpost, 'Grace Hopper');
    await expectRow('Ada Lovelace', 'Saved on device');
    // Another connection to the same database, as another tab (or the worker) has: this page's Dexie hears
    // of its commit only through the change notice, never through this page's own commands.
    const otherTab = openAppDb({ name: outpost.db.name });
    try {
      await killEntry(otherTab, ada, 1, 'Unknown product');
    } finally {
      otherTab.close();
    }
    await expectRow('Ada Lovelace', 'Needs attention');
    const grace = await rowOf('Grace Hopper');
    expect(within(grace).getByText('Saved on device')).toBeTruthy();
  });
});
