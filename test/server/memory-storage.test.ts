import { describe, expect, it } from 'vitest';
import { uuidv7Generator } from '../../src/outbox/ids';
import type { WireClientEvent } from '../../src/outbox/protocol/messages';
import { createMemoryStorage, type MemorySnapshot } from '../../src/outbox/server/memory-storage';
import { runStorageContract } from './storage-contract';

runStorageContract('memory', async () => {
  const storage = createMemoryStorage();
  return { storage, cleanup: () => storage.close() };
});

describe('memory storage snapshots', () => {
  const ids = uuidv7Generator();
  const clientId = ids();

  function created(): WireClientEvent {
    const orderId = ids();
    return {
      eventId: ids(),
      streamId: `order-${orderId}`,
      version: 1,
      schemaVersion: 1,
      type: 'OrderCreated',
      data: { orderId, customerName: 'Grace Hopper', currency: 'USD' },
      metadata: {
        commandId: ids(),
        correlationId: ids(),
        causationId: null,
        occurredAt: '2026-11-26T12:00:00.000Z',
        clientId,
      },
    };
  }

  it('restores everything from a snapshot that went through JSON, so the demo worker survives restarts', async () => {
    const event = created();
    const original = createMemoryStorage();
    await original.transaction((tx) => {
      tx.appendClientEvent(event, clientId);
      tx.linkClientToStream(clientId, event.streamId);
      tx.appendServerEvent({
        eventId: ids(),
        streamId: event.streamId,
        occurredAt: '2026-11-26T12:00:01.000Z',
        type: 'OrderRejected',
        data: { code: 'credit_limit', reason: 'Over the limit' },
      });
      tx.increment('duplicatesAnswered', 2);
      tx.claimStream(event.streamId, 'alice');
      tx.claimClient(clientId, 'alice');
    });
    const persisted = JSON.parse(JSON.stringify(original.snapshot())) as MemorySnapshot;

    const restored = createMemoryStorage({ initial: persisted });
    const [before, after] = await Promise.all(
      [original, restored].map((storage) =>
        storage.read((reader) => ({
          stats: reader.stats(),
          events: reader.streamEvents(event.streamId),
          pulled: reader.serverEventsForClient(clientId, 0, 10),
          lastSeq: reader.lastServerSeq(),
          owners: [reader.streamOwner(event.streamId), reader.clientOwner(clientId)],
        })),
      ),
    );
    expect(after).toEqual(before);
    expect(after?.stats.duplicatesAnswered).toBe(2);
    expect(after?.owners).toEqual(['alice', 'alice']);
    const next = await restored.transaction((tx) =>
      tx.appendServerEvent({
        eventId: ids(),
        streamId: event.streamId,
        occurredAt: '2026-11-26T12:00:02.000Z',
        type: 'OrderRejected',
        data: { code: 'credit_limit', reason: 'Still over' },
      }),
    );
    expect(next.serverSeq).toBe(2);
  });

  it('tells the observer after each commit that changed something, never after a rollback', async () => {
    const seen: MemorySnapshot[] = [];
    const storage = createMemoryStorage({ onCommit: (snapshot) => seen.push(snapshot) });
    const event = created();
    await storage.transaction((tx) => tx.appendClientEvent(event, clientId));
    await storage.transaction((tx) => tx.streamVersion(event.streamId));
    await expect(
      storage.transaction((tx) => {
        tx.appendClientEvent(created(), clientId);
        throw new Error('abandon');
      }),
    ).rejects.toThrow('abandon');
    expect(seen).toHaveLength(1);
    expect(seen[0]?.clientEvents.map((row) => row.event)).toEqual([event]);
  });

  it('loads a snapshot saved before streams and clients had owners', async () => {
    const event = created();
    const { streamOwners: _streams, clientOwners: _clients, ...older } = createMemoryStorage().snapshot();
    const restored = createMemoryStorage({
      initial: { ...older, clientEvents: [{ clientId, event }] } as MemorySnapshot,
    });
    await expect(restored.read((reader) => reader.streamOwner(event.streamId))).resolves.toBeUndefined();
    await expect(restored.read((reader) => reader.streamVersion(event.streamId))).resolves.toBe(1);
  });

  it('refuses a corrupt snapshot instead of starting from half a state', () => {
    const broken = { format: 1, clientEvents: [{ clientId, event: { eventId: 'nope' } }] } as unknown;
    expect(() => createMemoryStorage({ initial: broken as MemorySnapshot })).toThrow();
  });

  it('keeps stored events safe from a caller mutating what it passed in', async () => {
    const storage = createMemoryStorage();
    const event = created();
    await storage.transaction((tx) => tx.appendClientEvent(event, clientId));
    (event.data as { customerName: string }).customerName = 'Changed afterwards';
    const stored = await storage.read((reader) => reader.findClientEvent(event.eventId));
    expect((stored?.data as { customerName?: string } | undefined)?.customerName).toBe('Grace Hopper');
  });

  it('refuses work once closed', async () => {
    const storage = createMemoryStorage();
    await storage.close();
    await expect(storage.read((reader) => reader.stats())).rejects.toMatchObject({ code: 'storage_closed' });
  });
});
