import { describe, expect, it, vi } from 'vitest';
import { EventBus } from '../../../src/outbox/device/event-bus';
import { createEventRelay, type EventRelay } from '../../../src/outbox/device/event-relay';
import { createCoordinatedFlush } from '../../../src/outbox/device/sync/coordinated-flush';
import type { FlushReport } from '../../../src/outbox/device/sync/engine';
import { parseSyncChannelMessage } from '../../../src/outbox/device/sync/sync-channel';
import type { StoredServerEvent } from '../../../src/outbox/storage/rows';

const confirmed: StoredServerEvent = {
  kind: 'server',
  eventId: '0193a000-0000-7000-8000-000000000301',
  streamId: 'order-0193a000-0000-7000-8000-000000000001',
  serverSeq: 7,
  schemaVersion: 1,
  type: 'OrderConfirmed',
  data: { orderNumber: 'SO-000007', confirmedAt: '2026-11-26T12:00:00.000Z' },
  occurredAt: '2026-11-26T12:00:00.000Z',
};

const report = (outcome: FlushReport['outcome'], delivered = 0, pulled = 0): FlushReport => ({
  sent: delivered,
  delivered,
  dead: 0,
  retrying: 0,
  pulled,
  outcome,
  nextAttemptAt: null,
});

function setup(flushReport: FlushReport, onPull: (bus: EventBus) => number = () => 0) {
  const bus = new EventBus();
  const posted: unknown[] = [];
  const engine = {
    flush: vi.fn(async () => flushReport),
    pull: vi.fn(async () => onPull(bus)),
  };
  const flush = createCoordinatedFlush({
    engine,
    bus,
    channel: { postMessage: (message: unknown) => posted.push(message) },
    source: 'worker',
  });
  return { flush, engine, posted };
}

describe('a flush coordinated across contexts', () => {
  // The page flushes through its rxjs EventBus, the service worker through the rxjs-free relay.
  it.each<[string, () => EventRelay]>([
    ['a page', () => new EventBus()],
    ['the service worker', createEventRelay],
  ])('tells the other contexts what it delivered and which decisions it applied (%s)', async (_, makeBus) => {
    const bus = makeBus();
    const posted: unknown[] = [];
    const engine = {
      flush: async () => {
        bus.publish([confirmed]);
        return report('drained', 3, 1);
      },
      pull: async () => 0,
    };
    const flush = createCoordinatedFlush({
      engine,
      bus,
      channel: { postMessage: (message: unknown) => posted.push(message) },
      source: 'worker',
    });
    await flush({ reasons: ['sync'] });
    const message = parseSyncChannelMessage(posted[0]);
    expect(message).toMatchObject({ source: 'worker', reasons: ['sync'], report: { delivered: 3 } });
    expect(message?.serverEvents).toEqual([confirmed]);
  });

  it('pulls decisions on an explicit trigger even when there was nothing to send', async () => {
    const { flush, engine } = setup(report('idle'), (bus) => {
      bus.publish([confirmed]);
      return 1;
    });
    await expect(flush({ force: true, reasons: ['sync-now'] })).resolves.toMatchObject({ pulled: 1 });
    expect(engine.pull).toHaveBeenCalledTimes(1);
  });

  it('leaves pulling to the engine after an ordinary flush', async () => {
    const { flush, engine } = setup(report('idle'));
    await flush({ reasons: ['command'] });
    expect(engine.pull).not.toHaveBeenCalled();
  });

  it('does not pull when the flush could not reach the server', async () => {
    const { flush, engine } = setup(report('offline'));
    await flush({ force: true });
    expect(engine.pull).not.toHaveBeenCalled();
  });
});
