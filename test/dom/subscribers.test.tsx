import { act, cleanup, render, screen, waitFor, within } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readMedianAcknowledgementMs, readOrderInsights } from '../../src/orders/page/order-insights';
import { streamIdOf } from '../../src/orders/stream-ids';
import { storeServerEvents, syncTables } from '../../src/outbox/device/sync/outbox-store';
import type { WireServerEvent } from '../../src/outbox/protocol/messages';
import { startNotificationService, type Toast } from '../../src/subscribers/notifications';
import { App } from '../../src/ui/app';
import { streamScreens } from '../../src/ui/stream-screens';
import { createTestOutpost, seedOrder, type TestOutpost } from './support/test-outpost';

const ESPRESSO = { sku: 'COF-ESP-1KG', name: 'Espresso beans, 1 kg', unitPrice: 2490, quantity: 2 };
const HAZELNUT = { sku: 'DISC-SYR-HAZ', name: 'Hazelnut syrup', unitPrice: 990, quantity: 1 };

let outpost: TestOutpost;
let serverSeq = 0;

/** What the sync engine does with a server decision: store, project, then publish on the bus. */
async function decide(orderId: string, decision: 'confirm' | 'reject', afterMs: number) {
  outpost.clock.advance(afterMs);
  serverSeq += 1;
  const base = {
    eventId: outpost.ids(),
    streamId: streamIdOf(orderId),
    serverSeq,
    occurredAt: new Date(outpost.clock.now()).toISOString(),
  };
  const event: WireServerEvent =
    decision === 'confirm'
      ? {
          ...base,
          type: 'OrderConfirmed',
          data: { orderNumber: `SO-${String(serverSeq).padStart(6, '0')}`, confirmedAt: base.occurredAt },
        }
      : {
          ...base,
          type: 'OrderRejected',
          data: { code: 'discontinued_sku', reason: 'DISC-SYR-HAZ is discontinued' },
        };
  const stored = await outpost.db.transaction('rw', syncTables(outpost.db.streamTypes), async () =>
    storeServerEvents(outpost.db, outpost.db.streamTypes, [event]),
  );
  outpost.bus.publish(stored);
}

async function placedOrder(customer: string, product: typeof ESPRESSO): Promise<string> {
  const orderId = await seedOrder(outpost, customer, [product]);
  const placed = await outpost.execute({ command: { type: 'PlaceOrder', orderId } });
  if (!placed.ok) throw placed.error;
  return orderId;
}

beforeEach(async () => {
  outpost = await createTestOutpost();
  serverSeq = 0;
});

afterEach(async () => {
  cleanup();
  await outpost.settle();
  outpost.db.close();
  window.location.hash = '';
});

describe('notification service', () => {
  it('announces confirmations and rejections once each, with the customer, and tells the system notifier', async () => {
    const system: string[] = [];
    const service = startNotificationService({
      bus: outpost.bus,
      db: outpost.db,
      toastOf: streamScreens.toastOf,
      system: (title) => system.push(title),
    });
    let toasts: readonly Toast[] = [];
    service.toasts$.subscribe((next) => {
      toasts = next;
    });
    const confirmed = await placedOrder('Pier Pantry', ESPRESSO);
    const rejected = await placedOrder('Lighthouse Inn', HAZELNUT);
    await decide(confirmed, 'confirm', 1500);
    await decide(rejected, 'reject', 500);
    const [repeat] = await outpost.db.events
      .where('streamId')
      .equals(streamIdOf(rejected))
      .reverse()
      .toArray();
    if (repeat) outpost.bus.publish([repeat]);

    await waitFor(() => expect(toasts).toHaveLength(2));
    expect(toasts.map((toast) => [toast.tone, toast.title])).toEqual([
      ['success', 'Order SO-000001 confirmed'],
      ['error', 'Order rejected'],
    ]);
    expect(toasts[1]?.body).toBe("Lighthouse Inn's order was rejected: DISC-SYR-HAZ is discontinued");
    expect(system).toEqual(['Order SO-000001 confirmed', 'Order rejected']);
    service.stop();
  });

  it('shows the toast in a polite live region of the app', async () => {
    window.location.hash = '#/orders';
    render(<App outpost={outpost} ids={outpost.ids} />);
    const orderId = await placedOrder('Pier Pantry', ESPRESSO);
    await screen.findByRole('heading', { level: 1, name: 'Orders' });
    await act(() => decide(orderId, 'confirm', 1000));
    const region = await waitFor(() => {
      const live = screen
        .getAllByRole('status')
        .find((element) => element.textContent?.includes('SO-000001'));
      expect(live).toBeDefined();
      return live as HTMLElement;
    });
    expect(region.getAttribute('aria-live')).toBe('polite');
    expect(within(region).getByRole('link', { name: 'Open order' }).getAttribute('href')).toBe(
      `#/orders/${orderId}`,
    );
  });
});

describe('analytics', () => {
  it('are read models kept with each command and decision: orders per day, revenue, confirmation rate and acknowledgement time', async () => {
    const first = await placedOrder('Pier Pantry', ESPRESSO);
    const second = await placedOrder('Lighthouse Inn', HAZELNUT);
    await placedOrder('Harbour Café', { ...ESPRESSO, quantity: 1 });
    await decide(first, 'confirm', 2000);
    await decide(second, 'reject', 1000);

    // No subscriber ran: the counters were written in the transactions that stored the events.
    const today = new Date(outpost.clock.now()).toISOString().slice(0, 10);
    const insights = await readOrderInsights(outpost.db, [today]);
    expect(insights.days).toEqual([{ id: today, placed: 3, confirmed: 1, rejected: 1 }]);
    expect(insights.revenue).toEqual([{ id: 'EUR', confirmed: 4980 }]);
    expect(insights.confirmationRate).toBe(0.5);
    expect(insights.waiting).toBe(1);
    // Samples of 2000 and 3000 ms: the lower middle one.
    expect(await readMedianAcknowledgementMs(outpost.db)).toBe(2000);
  });

  it('renders the insights chart as an image with a text alternative and the same numbers in a table', async () => {
    const first = await placedOrder('Pier Pantry', ESPRESSO);
    await decide(first, 'confirm', 2000);
    window.location.hash = '#/insights';
    render(<App outpost={outpost} ids={outpost.ids} />);
    const chart = await screen.findByRole('img', { name: /1 placed, 1 confirmed, 0 rejected/ });
    expect(chart.tagName.toLowerCase()).toBe('svg');
    const today = new Date(outpost.clock.now()).toISOString().slice(0, 10);
    const row = screen.getByRole('row', { name: new RegExp(today) });
    expect(
      within(row)
        .getAllByRole('cell')
        .map((cell) => cell.textContent),
    ).toEqual(['1', '1', '0']);
    expect(screen.getByText('100 %')).toBeTruthy();
  });
});
