import { cleanup, render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it } from 'vitest';
import { streamIdOf } from '../../src/orders/stream-ids';
import { App } from '../../src/ui/app';
import { createTestOutpost, seedOrder, type TestOutpost } from './support/test-outpost';

/**
 * The composition root's own sync, end to end in this process: commands through the screens, page sync on
 * the fake network and locks, the protocol's mock server behind the transport. Nobody presses "Sync now":
 * what is sent here, the app sent by itself.
 */

const ESPRESSO = { sku: 'COF-ESP-1KG', name: 'Espresso beans, 1 kg', unitPrice: 2490, quantity: 2 };

let outpost: TestOutpost;

afterEach(async () => {
  cleanup();
  await outpost.settle();
  outpost.db.close();
  window.location.hash = '';
});

/** The order's events as the server stored them, in version order. */
const onServer = (orderId: string) =>
  outpost.server.storage.read(async (reader) =>
    ((await reader.streams([streamIdOf(orderId)])).get(streamIdOf(orderId))?.events ?? []).map(
      (event) => `${event.type} v${event.version}`,
    ),
  );

const statusBar = () => screen.getByRole('region', { name: 'Sync status' });
const timelineHeads = () =>
  within(screen.getByRole('list', { name: 'Timeline' }))
    .getAllByRole('listitem')
    .map((entry) => entry.querySelector('.timeline__head')?.textContent);

describe('the real composition root syncs by itself', () => {
  it('sends a line added on the order screen to the server, with nobody pressing Sync now', async () => {
    outpost = await createTestOutpost({ online: true });
    const user = userEvent.setup();
    const orderId = await seedOrder(outpost, 'Harbour Café');
    window.location.hash = `#/orders/${orderId}`;
    render(<App outpost={outpost} ids={outpost.ids} />);
    await user.type(await screen.findByLabelText('Product'), ESPRESSO.sku);
    await user.click(screen.getByRole('button', { name: 'Add to order' }));

    await waitFor(() =>
      expect(timelineHeads()).toEqual([
        expect.stringMatching(/^OrderCreatedv1.*Delivered$/),
        expect.stringMatching(/^ProductAddedv2.*Delivered$/),
      ]),
    );
    expect(await onServer(orderId)).toEqual(['OrderCreated v1', 'ProductAdded v2']);
    expect(await outpost.db.outbox.count()).toBe(0);
    await waitFor(() => expect(within(statusBar()).getByText(/Up to date/)).toBeTruthy());
    expect(outpost.syncNow).not.toHaveBeenCalled();
  });

  it('keeps what was entered offline, says so, and sends it when the network comes back', async () => {
    outpost = await createTestOutpost();
    const orderId = await seedOrder(outpost, 'Quay Bakery', [ESPRESSO]);
    window.location.hash = `#/orders/${orderId}`;
    render(<App outpost={outpost} ids={outpost.ids} />);
    await waitFor(() => {
      expect(statusBar().textContent).toContain('Offline: sent when the connection returns');
      expect(statusBar().textContent).toContain('Unsent 2');
    });
    expect(await onServer(orderId)).toEqual([]);

    outpost.network.next(true);

    await waitFor(() =>
      expect(timelineHeads()).toEqual([
        expect.stringMatching(/^OrderCreatedv1.*Delivered$/),
        expect.stringMatching(/^ProductAddedv2.*Delivered$/),
      ]),
    );
    expect(await onServer(orderId)).toEqual(['OrderCreated v1', 'ProductAdded v2']);
    await waitFor(() => expect(statusBar().textContent).toContain('Unsent 0'));
    expect(statusBar().textContent).toContain('Online');
    expect(outpost.syncNow).not.toHaveBeenCalled();
  });
});
