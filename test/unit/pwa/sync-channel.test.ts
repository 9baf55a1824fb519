import { describe, expect, it } from 'vitest';
import { parseSyncChannelMessage } from '../../../src/outbox/device/sync/sync-channel';

const report = {
  sent: 2,
  delivered: 2,
  dead: 0,
  retrying: 0,
  pulled: 0,
  outcome: 'drained',
  nextAttemptAt: null,
};
const decision = (streamId: string, type: string) => ({
  kind: 'server',
  eventId: '0193a000-0000-7000-8000-000000000301',
  streamId,
  serverSeq: 7,
  type,
  schemaVersion: 1,
  data: {},
  occurredAt: '2026-12-04T09:00:00.000Z',
});

describe('the sync channel', () => {
  it("carries every stream type's decisions to the other contexts, not only the order's", () => {
    const message = parseSyncChannelMessage({
      type: 'flushed',
      source: 'worker',
      reasons: ['sync'],
      report,
      serverEvents: [
        decision('order-0193a000-0000-7000-8000-000000000001', 'OrderConfirmed'),
        decision('stockcount-0193a000-0000-7000-8000-000000000002', 'CountRejected'),
      ],
    });
    expect(message?.serverEvents.map((event) => event.type)).toEqual(['OrderConfirmed', 'CountRejected']);
  });

  it('drops a message whose events are not server events', () => {
    const message = parseSyncChannelMessage({
      type: 'flushed',
      source: 'worker',
      reasons: ['sync'],
      report,
      serverEvents: [{ ...decision('order-x', 'OrderConfirmed'), kind: 'client' }],
    });
    expect(message).toBeNull();
  });
});
