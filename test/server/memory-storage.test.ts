import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { uuidv7Generator } from '../../src/outbox/ids';
import type { WireClientEvent } from '../../src/outbox/protocol/messages';
import { createMemoryStorage, type MemorySnapshot } from '../../src/outbox/server/memory-storage';
import { START_CURSOR } from '../../src/outbox/server/pull-cursor';
import { runStorageContract } from '../../src/outbox/server/testing';

const vitestApi = { afterEach, beforeEach, describe, expect, it };

runStorageContract(
  'memory',
  async () => {
    const storage = createMemoryStorage();
    return { storage, cleanup: () => storage.close() };
  },
  vitestApi,
);

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

  const rejection = (streamId: string, serverSeq: number) => ({
    eventId: ids(),
    streamId,
    serverSeq,
    occurredAt: '2026-11-26T12:00:01.000Z',
    type: 'OrderRejected',
    data: { code: 'credit_limit', reason: 'Over the limit' },
  });

  it('restores everything from a snapshot that went through JSON, so the demo worker survives restarts', async () => {
    const event = created();
    const original = createMemoryStorage();
    await original.transaction(async (tx) => {
      const [seq = 0] = await tx.allocateServerSeqs(1);
      await tx.write({
        clientId,
        clientEvents: [event],
        linkedStreams: [event.streamId],
        serverEvents: [rejection(event.streamId, seq)],
        duplicatesAnswered: 2,
        claims: { owner: 'alice', client: true, streams: [event.streamId] },
      });
    });
    const persisted = JSON.parse(JSON.stringify(original.snapshot())) as MemorySnapshot;

    const restored = createMemoryStorage({ initial: persisted });
    const [before, after] = await Promise.all(
      [original, restored].map((storage) =>
        storage.read(async (reader) => ({
          stats: await reader.stats(),
          stream: (await reader.streams([event.streamId])).get(event.streamId),
          pulled: await reader.pull({ clientId, since: START_CURSOR, limit: 10 }),
          clientOwner: await reader.clientOwner(clientId),
        })),
      ),
    );
    expect(after).toEqual(before);
    expect(after?.stats.duplicatesAnswered).toBe(2);
    expect([after?.stream?.owner, after?.clientOwner]).toEqual(['alice', 'alice']);
    const next = await restored.transaction((tx) => tx.allocateServerSeqs(1));
    expect(next).toEqual([2]);
  });

  it('numbers server events densely: a rolled-back allocation is handed out again', async () => {
    const storage = createMemoryStorage();
    const stream = created().streamId;
    await expect(
      storage.transaction(async (tx) => {
        await tx.allocateServerSeqs(2);
        throw new Error('abandon');
      }),
    ).rejects.toThrow('abandon');
    const seqs = await storage.transaction(async (tx) => {
      const taken = await tx.allocateServerSeqs(2);
      await tx.write({ clientId, serverEvents: taken.map((seq) => rejection(stream, seq)) });
      return taken;
    });
    expect(seqs).toEqual([1, 2]);
  });

  it('tells the observer after each commit that changed something, never after a rollback', async () => {
    const seen: MemorySnapshot[] = [];
    const storage = createMemoryStorage({ onCommit: (snapshot) => seen.push(snapshot) });
    const event = created();
    await storage.transaction((tx) => tx.write({ clientId, clientEvents: [event] }));
    await storage.transaction((tx) => tx.streams([event.streamId]));
    await expect(
      storage.transaction(async (tx) => {
        await tx.write({ clientId, clientEvents: [created()] });
        throw new Error('abandon');
      }),
    ).rejects.toThrow('abandon');
    expect(seen).toHaveLength(1);
    expect(seen[0]?.clientEvents.map((row) => row.event)).toEqual([event]);
  });

  it('answers a committed write as committed when the observer throws, and hands the throw to onCommitError', async () => {
    const heard: unknown[] = [];
    const storage = createMemoryStorage({
      onCommit: () => {
        throw new Error('persisting failed');
      },
      onCommitError: (error) => heard.push(error),
    });
    const event = created();
    await expect(storage.transaction((tx) => tx.write({ clientId, clientEvents: [event] }))).resolves.toBe(
      undefined,
    );
    expect(heard).toEqual([new Error('persisting failed')]);
    const stored = await storage.read((reader) => reader.clientEvents([event.eventId]));
    expect(stored.get(event.eventId)).toEqual(event);
    const silent = createMemoryStorage({
      onCommit: () => {
        throw new Error('persisting failed');
      },
    });
    await expect(silent.transaction((tx) => tx.write({ clientId, clientEvents: [created()] }))).resolves.toBe(
      undefined,
    );
  });

  it('loads a snapshot saved before streams and clients had owners', async () => {
    const event = created();
    const { streamOwners: _streams, clientOwners: _clients, ...older } = createMemoryStorage().snapshot();
    const restored = createMemoryStorage({
      initial: { ...older, clientEvents: [{ clientId, event }] } as MemorySnapshot,
    });
    await expect(
      restored.read(async (reader) => (await reader.streams([event.streamId])).get(event.streamId)),
    ).resolves.toEqual({ events: [event], owner: undefined });
  });

  it('refuses a corrupt snapshot instead of starting from half a state', () => {
    const broken = { format: 1, clientEvents: [{ clientId, event: { eventId: 'nope' } }] } as unknown;
    expect(() => createMemoryStorage({ initial: broken as MemorySnapshot })).toThrow();
  });

  it('keeps stored events safe from a caller mutating what it passed in', async () => {
    const storage = createMemoryStorage();
    const event = created();
    await storage.transaction((tx) => tx.write({ clientId, clientEvents: [event] }));
    (event.data as { customerName: string }).customerName = 'Changed afterwards';
    const stored = await storage.read(async (reader) =>
      (await reader.clientEvents([event.eventId])).get(event.eventId),
    );
    expect((stored?.data as { customerName?: string } | undefined)?.customerName).toBe('Grace Hopper');
  });

  it('refuses work once closed', async () => {
    const storage = createMemoryStorage();
    await storage.close();
    await expect(storage.read((reader) => reader.stats())).rejects.toMatchObject({ code: 'storage_closed' });
  });
});
