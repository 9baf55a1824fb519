import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { uuidv7Generator } from '../../src/outbox/ids';
import type { WireClientEvent } from '../../src/outbox/protocol/messages';
import { provisionDeviceToken, startServerProcess, stopAllServers, tempDir } from './support/server-process';
import { delivered, ordersFor, push, readStored } from './support/sync-client';

const temp = tempDir('concurrency');
const ids = uuidv7Generator();

afterAll(async () => {
  await stopAllServers();
  temp.remove();
});

describe('reference server under concurrent clients', () => {
  it('stores every event of 20 clients pushing overlapping and repeated batches at once exactly once', async () => {
    const dataDir = join(temp.path, 'data');
    // Signed in as one user (a device token): ownership is decided inside the same racing transactions.
    const token = await provisionDeviceToken(dataDir);
    const server = await startServerProcess({ dataDir, auth: 'users' });
    const clients = Array.from({ length: 20 }, () => {
      const clientId = ids();
      return { clientId, events: ordersFor(ids, clientId, 10).flat() };
    });
    const total = clients.reduce((sum, client) => sum + client.events.length, 0);

    // Each client fires four pushes at the same moment: the first 30 events twice (same batchId: a resend
    // racing its original), and two batches overlapping those by ten events.
    await Promise.all(
      clients.flatMap(({ clientId, events }) => {
        const firstBatch = ids();
        return [
          push(server.baseUrl, token, clientId, events.slice(0, 30), firstBatch),
          push(server.baseUrl, token, clientId, events.slice(0, 30), firstBatch),
          push(server.baseUrl, token, clientId, events.slice(20, 40), ids()),
          push(server.baseUrl, token, clientId, events.slice(10, 30), ids()),
        ];
      }),
    );

    // Then each resends what is not yet acknowledged, in stream order, until everything is delivered.
    await Promise.all(
      clients.map(async ({ clientId, events }) => {
        let pending: WireClientEvent[] = events;
        for (let round = 0; pending.length > 0; round += 1) {
          if (round > 10) throw new Error('delivery does not converge');
          const answer = await push(server.baseUrl, token, clientId, pending, ids());
          const done = new Set(delivered(answer));
          pending = pending.filter((event) => !done.has(event.eventId));
        }
      }),
    );

    const stats = (await (
      await fetch(`${server.baseUrl}/stats`, { headers: { authorization: `Bearer ${token}` } })
    ).json()) as Record<string, number>;
    expect(stats).toMatchObject({
      eventsStored: total,
      streams: 200,
      serverEvents: 200,
      serverEventsByType: { OrderConfirmed: 200 },
    });

    expect(await server.stop()).toEqual({ code: 0, signal: null });
    const stored = readStored(dataDir);
    expect(stored).toMatchObject({
      clientEvents: total,
      distinctEventIds: total,
      streamsWithHoles: 0,
      streamsDecidedTwice: 0,
      unownedStreams: 0,
      serverEvents: 200,
    });
    for (const { events } of clients)
      for (const event of events) expect(stored.storedIds.has(event.eventId)).toBe(true);
  }, 60_000);
});
