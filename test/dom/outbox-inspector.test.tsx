import { cleanup, render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { streamIdOf } from '../../src/orders/stream-ids';
import { App } from '../../src/ui/app';
import { orderSummary } from '../support/order-rows';
import { catchDownloads } from './support/downloads';
import {
  createTestOutpost,
  killEntry,
  seedOrder,
  sendEverything,
  type TestOutpost,
} from './support/test-outpost';

const ESPRESSO = { sku: 'COF-ESP-1KG', name: 'Espresso beans, 1 kg', unitPrice: 2490, quantity: 2 };

let outpost: TestOutpost;
let orderId: string;

async function renderInspector() {
  window.location.hash = '#/outbox';
  render(<App outpost={outpost} ids={outpost.ids} />);
  return screen.findByRole('heading', { level: 1, name: 'Outbox' });
}

const deadSection = () =>
  screen.getByRole('heading', { name: /Needs attention/ }).closest('.card') as HTMLElement;
const rowOf = (version: number) =>
  outpost.db.outbox
    .where('[streamId+version]')
    .equals([streamIdOf(orderId), version])
    .first();

beforeEach(async () => {
  outpost = await createTestOutpost();
  orderId = await seedOrder(outpost, 'Quay Bakery', [ESPRESSO]);
  await killEntry(outpost.db, orderId, 2, 'sku unknown to the server');
});

afterEach(async () => {
  cleanup();
  vi.restoreAllMocks();
  await outpost.settle();
  outpost.db.close();
  window.location.hash = '';
});

describe('outbox inspector', () => {
  it('lists the dead entry with its attempts and the server’s error', async () => {
    await renderInspector();
    const dead = await waitFor(() => {
      const section = deadSection();
      within(section).getByRole('rowheader', { name: /ProductAdded v2/ });
      return section;
    });
    expect(dead.textContent).toContain('rejected:invalid: sku unknown to the server');
    expect(within(dead).getByRole('heading').textContent).toMatch(/Needs attention\s*1/);
  });

  it('lists leased entries under In flight and the rest under Pending, each counted once', async () => {
    // This order's v1 waits on a backoff (its v2 is dead); a second order is sent and its request hangs.
    await seedOrder(outpost, 'Pier Kiosk', [ESPRESSO]);
    await outpost.db.outbox.where('streamId').equals(streamIdOf(orderId)).modify({ nextAttemptAt: 1e15 });
    await sendEverything(outpost);
    await renderInspector();
    const section = (name: RegExp) => screen.getByRole('heading', { name }).closest('.card') as HTMLElement;
    await waitFor(() => expect(within(section(/In flight/)).getByRole('heading').textContent).toMatch(/2$/));
    expect(
      within(section(/In flight/))
        .getAllByRole('rowheader')
        .map((cell) => cell.textContent),
    ).toEqual(['OrderCreated v1 In flight', 'ProductAdded v2 In flight']);
    const pending = section(/Pending/);
    expect(within(pending).getByRole('heading').textContent).toMatch(/Pending\s*1$/);
    expect(
      within(pending)
        .getAllByRole('rowheader')
        .map((cell) => cell.textContent),
    ).toEqual(['OrderCreated v1 Pending']);
  });

  it('changes nothing when the retry dialog is cancelled', async () => {
    const user = userEvent.setup();
    await renderInspector();
    await user.click(await screen.findByRole('button', { name: 'Retry ProductAdded v2' }));
    const dialog = screen.getByRole('dialog', { name: 'Retry ProductAdded v2?' });
    await user.click(within(dialog).getByRole('button', { name: 'Cancel' }));
    expect(screen.queryByRole('dialog')).toBeNull();
    expect((await rowOf(2))?.status).toBe('dead');
    // Focus goes back to the button that opened the dialog.
    expect(document.activeElement).toBe(screen.getByRole('button', { name: 'Retry ProductAdded v2' }));
  });

  it('puts a dead entry back in the queue after the person confirms', async () => {
    const user = userEvent.setup();
    await renderInspector();
    await user.click(await screen.findByRole('button', { name: 'Retry ProductAdded v2' }));
    await user.click(within(screen.getByRole('dialog')).getByRole('button', { name: 'Retry entry' }));

    await waitFor(async () => expect((await rowOf(2))?.status).toBe('pending'));
    await waitFor(() => expect(screen.queryByRole('button', { name: 'Retry ProductAdded v2' })).toBeNull());
    expect((await orderSummary(outpost.db, orderId))?.blockedReason).toBeNull();
  });

  it('discards only with a reason, and then records why on the order', async () => {
    const user = userEvent.setup();
    await renderInspector();
    await user.click(await screen.findByRole('button', { name: 'Discard ProductAdded v2' }));
    const dialog = screen.getByRole('dialog', { name: 'Discard ProductAdded v2?' });
    await user.click(within(dialog).getByRole('button', { name: 'Discard entry' }));
    const reason = within(dialog).getByLabelText('Reason for discarding');
    expect(reason.getAttribute('aria-invalid')).toBe('true');
    expect((await rowOf(2))?.status).toBe('dead');

    await user.type(reason, 'Product was never sold here');
    await user.click(within(dialog).getByRole('button', { name: 'Discard entry' }));
    await waitFor(async () => expect(await rowOf(2)).toBeUndefined());
    const records = await outpost.db.events.where('streamId').equals(streamIdOf(orderId)).toArray();
    expect(records.filter((event) => event.kind === 'local').map((event) => event.type)).toEqual([
      'DeliveryDiscarded',
    ]);
    expect(screen.queryByRole('dialog')).toBeNull();
  });

  it('closes a dialog with Escape without doing anything', async () => {
    const user = userEvent.setup();
    await renderInspector();
    await user.click(await screen.findByRole('button', { name: 'Discard ProductAdded v2' }));
    await user.keyboard('{Escape}');
    expect(screen.queryByRole('dialog')).toBeNull();
    expect((await rowOf(2))?.status).toBe('dead');
  });

  it('asks the app to sync when Sync now is pressed', async () => {
    const user = userEvent.setup();
    await renderInspector();
    await user.click(screen.getByRole('button', { name: 'Sync now' }));
    expect(outpost.syncNow).toHaveBeenCalledTimes(1);
  });

  it('exports the event store and outbox as a downloaded JSON file', async () => {
    const user = userEvent.setup();
    const clicked = catchDownloads();
    await renderInspector();
    await user.click(screen.getByRole('button', { name: 'Export outbox and events' }));

    await waitFor(() => expect(clicked).toHaveLength(1));
    expect(clicked[0]?.name).toMatch(/^outpost-backup-.*\.json$/);
    expect(clicked[0]?.href).toBe('blob:outpost-test');
    const exported = clicked[0]?.blob;
    const backup = JSON.parse(await (exported as Blob).text()) as {
      events: { eventId: string }[];
      outbox: { eventId: string; status: string }[];
    };
    const events = await outpost.db.events.toArray();
    expect(backup.events.map((event) => event.eventId)).toEqual(events.map((event) => event.eventId));
    expect(backup.outbox.map((row) => row.status)).toEqual(['pending', 'dead']);
  });
});
