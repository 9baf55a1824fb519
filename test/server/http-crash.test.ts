import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { uuidv7Generator } from '../../src/outbox/ids';
import type { WireClientEvent } from '../../src/outbox/protocol/messages';
import {
  provisionDeviceToken,
  type ServerProcess,
  startServerProcess,
  stopAllServers,
  tempDir,
} from './support/server-process';
import { delivered, ordersFor, push, readStored } from './support/sync-client';

const temp = tempDir('crash');
const ids = uuidv7Generator();

afterAll(async () => {
  await stopAllServers();
  temp.remove();
});

interface Client {
  readonly clientId: string;
  /** Batches of 20 events (five whole orders), in the order the client sends them. */
  readonly batches: WireClientEvent[][];
  readonly acknowledged: Set<string>;
}

describe('reference server crash safety', () => {
  it('loses nothing it acknowledged and stores nothing twice across a kill -9 in the middle of a load', async () => {
    const dataDir = join(temp.path, 'data');
    const clients: Client[] = Array.from({ length: 6 }, () => {
      const clientId = ids();
      const orders = ordersFor(ids, clientId, 100);
      const batches: WireClientEvent[][] = [];
      for (let index = 0; index < orders.length; index += 5)
        batches.push(orders.slice(index, index + 5).flat());
      return { clientId, batches, acknowledged: new Set<string>() };
    });
    const total = clients.reduce((sum, client) => sum + client.batches.flat().length, 0);

    // Each client sends its batches one after another, as an outbox does, and remembers what was answered.
    // After 30 answered pushes across all clients the server is killed with SIGKILL while others are in flight.
    // Signed in as one user (a device token): ownership is claimed inside the transactions a crash cuts.
    const token = await provisionDeviceToken(dataDir);
    const first = await startServerProcess({ dataDir, auth: 'users' });
    let answered = 0;
    let killed: Promise<void> | null = null;
    const load = (server: ServerProcess, client: Client) => async () => {
      for (const batch of client.batches) {
        const unsent = batch.filter((event) => !client.acknowledged.has(event.eventId));
        if (unsent.length === 0) continue;
        const answer = await push(server.baseUrl, token, client.clientId, unsent, ids());
        for (const eventId of delivered(answer)) client.acknowledged.add(eventId);
        answered += 1;
        if (answered === 30) killed = first.kill9();
      }
    };
    const outcomes = await Promise.allSettled(clients.map((client) => load(first, client)()));
    await killed;
    expect(killed).not.toBeNull();
    // The kill cut every client off mid-load: a network error, not an answer.
    expect(outcomes.every((outcome) => outcome.status === 'rejected')).toBe(true);
    const acknowledgedBeforeCrash = new Set(clients.flatMap((client) => [...client.acknowledged]));
    expect(acknowledgedBeforeCrash.size).toBeGreaterThan(0);
    expect(acknowledgedBeforeCrash.size).toBeLessThan(total);

    const survived = readStored(dataDir);
    for (const eventId of acknowledgedBeforeCrash) expect(survived.storedIds.has(eventId)).toBe(true);

    // Restart on the same data dir; clients resend everything unacknowledged, including the batch that was
    // in flight when the server died (it may or may not have been committed).
    const second = await startServerProcess({ dataDir, auth: 'users' });
    await Promise.all(clients.map((client) => load(second, client)()));
    expect(await second.stop()).toEqual({ code: 0, signal: null });

    const stored = readStored(dataDir);
    expect(stored).toMatchObject({
      clientEvents: total,
      distinctEventIds: total,
      streamsWithHoles: 0,
      streamsDecidedTwice: 0,
      unownedStreams: 0,
      serverEvents: total / 4,
    });
    for (const client of clients) expect(client.acknowledged.size).toBe(client.batches.flat().length);
  }, 60_000);
});
