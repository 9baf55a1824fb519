import { uuidv7Generator } from '../../ids';
import type { WireClientEvent, WireServerEvent } from '../../protocol/messages';
import type { OutboxStatsReader, RelayStore } from '../relay/relay-store';
import type { ServerStorage } from '../storage';
import type { ContractTestApi } from './storage-contract';

/** A fresh, empty storage with its outbox's relay store and figures, for one test. */
export type MakeOutboxStorage = () => Promise<{
  storage: ServerStorage;
  relayStore: RelayStore;
  stats: OutboxStatsReader;
  /** The clock the storage stamps rows with: the test moves it. */
  setNow(now: number): void;
  /** Called after each test, passed or failed: close the storage and delete what it wrote. */
  cleanup(): Promise<void>;
}>;

/**
 * What every storage's server outbox must do (docs/server-outbox.md): one row per stored event, written in
 * the transaction that stores it (a failed transaction leaves neither), in the order stored, with its subject,
 * owner and body; unpublished rows in order for the relay, marked only as told, pruned only once published
 * before the cutoff; and the figures an operator watches.
 */
export function runOutboxContract(name: string, make: MakeOutboxStorage, test: ContractTestApi): void {
  const { afterEach, beforeEach, describe, expect, it } = test;
  describe(`Server outbox contract: ${name}`, () => {
    const ids = uuidv7Generator();
    let made: Awaited<ReturnType<MakeOutboxStorage>>;
    beforeEach(async () => {
      made = await make();
      made.setNow(1_000_000);
      await made.relayStore.lead();
    });
    afterEach(async () => {
      await made.relayStore.close();
      await made.cleanup();
    });

    const clientId = ids();
    const opened = (streamId: string): WireClientEvent => ({
      eventId: ids(),
      streamId,
      version: 1,
      schemaVersion: 1,
      type: 'LedgerOpened',
      data: { ledgerId: streamId.slice('ledger-'.length), holder: 'Ada Lovelace', currency: 'EUR' },
      metadata: {
        commandId: ids(),
        correlationId: ids(),
        causationId: null,
        occurredAt: '2026-11-26T12:00:00.000Z',
        clientId,
      },
    });
    const approved = (streamId: string, serverSeq: number): WireServerEvent => ({
      eventId: ids(),
      streamId,
      serverSeq,
      occurredAt: '2026-11-26T12:00:01.000Z',
      type: 'LedgerApproved',
      data: { ledgerNumber: `LG-${serverSeq}` },
    });
    const unpublished = async () =>
      (await made.relayStore.unpublished(1_000)).map(({ position: _p, createdAt: _c, ...row }) => row);

    it("writes one row per stored event and decision in the push's transaction, in the order stored", async () => {
      const first = `ledger-${ids()}`;
      const second = `ledger-${ids()}`;
      const events = [opened(first), opened(second)];
      const decisions = await made.storage.transaction(async (tx) => {
        const [seq = 0] = await tx.allocateServerSeqs(1);
        const decided = [approved(first, seq)];
        await tx.write({
          clientId,
          clientEvents: events,
          serverEvents: decided,
          claims: { owner: 'ada', client: true, streams: [first, second] },
        });
        return decided;
      });
      expect(await unpublished()).toEqual([
        ...events.map((event) => ({
          eventId: event.eventId,
          streamId: event.streamId,
          subject: 'outpost.ledger.LedgerOpened',
          owner: 'ada',
          body: JSON.stringify(event),
          streamSeq: 1,
        })),
        ...decisions.map((decision) => ({
          eventId: decision.eventId,
          streamId: decision.streamId,
          subject: 'outpost.ledger.LedgerApproved',
          owner: 'ada',
          body: JSON.stringify(decision),
          streamSeq: 2,
        })),
      ]);
      const rows = await made.relayStore.unpublished(1_000);
      expect(rows.map((row) => row.createdAt)).toEqual([1_000_000, 1_000_000, 1_000_000]);
      expect([...rows].sort((a, b) => a.position - b.position)).toEqual(rows);
    });

    it("numbers each stream's rows 1, 2, 3… across pushes, skipping no number for a rolled-back push, and going on after its rows were pruned", async () => {
      const stream = `ledger-${ids()}`;
      const decide = () =>
        made.storage.transaction(async (tx) => {
          const [seq = 0] = await tx.allocateServerSeqs(1);
          await tx.write({ clientId, serverEvents: [approved(stream, seq)] });
        });
      await made.storage.transaction((tx) => tx.write({ clientId, clientEvents: [opened(stream)] }));
      await decide();
      const fault = new Error('fault injected after the decision was stored');
      await expect(
        made.storage.transaction(async (tx) => {
          const [seq = 0] = await tx.allocateServerSeqs(1);
          await tx.write({ clientId, serverEvents: [approved(stream, seq)] });
          throw fault;
        }),
      ).rejects.toBe(fault);
      const written = await made.relayStore.unpublished(1_000);
      expect(written.map((row) => row.streamSeq)).toEqual([1, 2]);
      await made.relayStore.markPublished(
        written.map((row) => row.position),
        1_000_000,
      );
      expect(await made.relayStore.prune(1_000_001)).toBe(2);
      await decide();
      expect((await made.relayStore.unpublished(1_000)).map((row) => row.streamSeq)).toEqual([3]);
    });

    it('leaves neither events nor outbox rows when the transaction fails after storing them', async () => {
      const stream = `ledger-${ids()}`;
      const event = opened(stream);
      const fault = new Error('fault injected after the events were stored');
      await expect(
        made.storage.transaction(async (tx) => {
          const [seq = 0] = await tx.allocateServerSeqs(1);
          await tx.write({ clientId, clientEvents: [event], serverEvents: [approved(stream, seq)] });
          throw fault;
        }),
      ).rejects.toBe(fault);
      const stored = await made.storage.read((reader) => reader.clientEvents([event.eventId]));
      expect(stored).toEqual(new Map());
      expect(await unpublished()).toEqual([]);
      expect(await made.stats.outboxStats(1_000_500)).toEqual({
        depth: 0,
        oldestUnpublishedMs: 0,
        publishedPerSecond: 0,
      });
    });

    it('marks only the rows it is told, prunes only rows published before the cutoff, and reports the figures', async () => {
      const streams = [`ledger-${ids()}`, `ledger-${ids()}`, `ledger-${ids()}`];
      for (const stream of streams) {
        await made.storage.transaction((tx) => tx.write({ clientId, clientEvents: [opened(stream)] }));
      }
      const rows = await made.relayStore.unpublished(1_000);
      expect(rows.map((row) => row.streamId)).toEqual(streams);
      expect(await made.stats.outboxStats(1_004_000)).toEqual({
        depth: 3,
        oldestUnpublishedMs: 4_000,
        publishedPerSecond: 0,
      });

      await made.relayStore.markPublished([rows[0]?.position ?? 0], 1_010_000);
      await made.relayStore.markPublished([rows[1]?.position ?? 0], 1_020_000);
      expect((await made.relayStore.unpublished(1_000)).map((row) => row.streamId)).toEqual([streams[2]]);
      expect(await made.stats.outboxStats(1_030_000)).toEqual({
        depth: 1,
        oldestUnpublishedMs: 30_000,
        publishedPerSecond: 2 / 60,
      });

      expect(await made.relayStore.prune(1_015_000)).toBe(1);
      expect(await made.relayStore.prune(1_015_000)).toBe(0);
      expect((await made.relayStore.unpublished(1_000)).map((row) => row.streamId)).toEqual([streams[2]]);
      expect(await made.stats.outboxStats(1_030_000)).toEqual({
        depth: 1,
        oldestUnpublishedMs: 30_000,
        publishedPerSecond: 1 / 60,
      });
    });
  });
}
