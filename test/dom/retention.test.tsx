import { cleanup, render, screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { streamIdOf } from '../../src/orders/stream-ids';
import type { ArchiveExport } from '../../src/outbox/device/read-models/retention';
import { App } from '../../src/ui/app';
import { catchDownloads } from './support/downloads';
import { createTestOutpost, seedOrder, type TestOutpost } from './support/test-outpost';

const ESPRESSO = { sku: 'COF-ESP-1KG', name: 'Espresso beans, 1 kg', unitPrice: 2490, quantity: 2 };
const DAY = 24 * 60 * 60 * 1000;

let outpost: TestOutpost;

beforeEach(async () => {
  outpost = await createTestOutpost({ online: true });
});

afterEach(async () => {
  cleanup();
  vi.restoreAllMocks();
  await outpost.settle();
  outpost.db.close();
  window.location.hash = '';
});

/** An order placed, sent and confirmed by the (mock) server, then `days` pass. */
async function confirmedOrder(customer: string): Promise<string> {
  const orderId = await seedOrder(outpost, customer, [ESPRESSO]);
  const placed = await outpost.execute({ command: { type: 'PlaceOrder', orderId } });
  if (!placed.ok) throw placed.error;
  await outpost.syncNow();
  await waitFor(async () =>
    expect((await outpost.db.table('orders').get(orderId))?.status).toBe('confirmed'),
  );
  return orderId;
}

describe('keeping settled records on the device', () => {
  it('keeps everything until the person chooses, then exports and archives what is due', async () => {
    const user = userEvent.setup();
    const old = await confirmedOrder('Quay Bakery');
    outpost.clock.advance(100 * DAY);
    const recent = await confirmedOrder('Pier Kiosk');
    const draft = await seedOrder(outpost, 'Harbour Café', [ESPRESSO]);
    const files = catchDownloads();

    window.location.hash = '#/outbox';
    render(<App outpost={outpost} ids={outpost.ids} />);
    await screen.findByText('Everything stays on this device.');

    await user.selectOptions(screen.getByLabelText('Keep settled records for'), '90 days');
    await screen.findByText(/^1 order settled before .* can be archived \(4 events\)\.$/);
    expect(await (await outpost.retention()).setting()).toEqual({ days: 90 });

    await user.click(screen.getByRole('button', { name: 'Export, then archive' }));
    await screen.findByText(/^Saved outpost-archive-.*\.json\. Archived 1 order\.$/);
    await screen.findByText(/^Nothing settled before .* is left on this device\.$/);

    // The file holds every event of the archived order, and the device holds none of them any more.
    expect(files.map((file) => file.name)).toEqual([expect.stringMatching(/^outpost-archive-.*\.json$/)]);
    const [file] = files;
    if (!file) throw new Error('no file was downloaded');
    const exported = JSON.parse(await file.blob.text()) as ArchiveExport;
    expect(exported.streams.map((stream) => stream.streamId)).toEqual([streamIdOf(old)]);
    expect(exported.streams[0]?.events.map((event) => event.type)).toEqual([
      'OrderCreated',
      'ProductAdded',
      'OrderPlaced',
      'OrderConfirmed',
    ]);
    expect(await outpost.db.events.where('streamId').equals(streamIdOf(old)).count()).toBe(0);
    expect(await outpost.db.table('orders').get(old)).toBeUndefined();
    // The recent order and the draft stay as they were.
    expect((await outpost.db.table('orders').get(recent))?.status).toBe('confirmed');
    expect((await outpost.db.table('orders').get(draft))?.status).toBe('draft');

    // The archived order takes no change, and the screen says why.
    const refused = await outpost.execute({
      command: { type: 'CancelOrder', orderId: old, reason: 'Too late' },
    });
    expect(refused.ok).toBe(false);
    if (!refused.ok) expect(refused.error.message).toMatch(/archived on this device/);
  });

  it('archives without a file when the person says so, and keeps nothing when set back to always', async () => {
    const user = userEvent.setup();
    const old = await confirmedOrder('Quay Bakery');
    outpost.clock.advance(40 * DAY);
    const files = catchDownloads();
    window.location.hash = '#/outbox';
    render(<App outpost={outpost} ids={outpost.ids} />);
    await screen.findByText('Everything stays on this device.');

    await user.selectOptions(screen.getByLabelText('Keep settled records for'), '90 days');
    await screen.findByText(/^Nothing settled before .* is left on this device\.$/);
    await user.selectOptions(screen.getByLabelText('Keep settled records for'), '30 days');
    await screen.findByText(/^1 order settled before .* can be archived/);
    await user.click(screen.getByRole('button', { name: 'Archive without exporting' }));
    await screen.findByText('Archived 1 order.');
    expect(files).toEqual([]);
    expect(await outpost.db.table('orders').get(old)).toBeUndefined();

    await user.selectOptions(
      screen.getByLabelText('Keep settled records for'),
      'Always (nothing is archived)',
    );
    await screen.findByText('Everything stays on this device.');
    expect(await (await outpost.retention()).setting()).toEqual({ days: null });
  });
});
