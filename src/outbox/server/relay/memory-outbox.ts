import type { Clock } from '../../ids';
import type { NewOutboxRow, OutboxRow } from './outbox-rows';
import {
  type OutboxStats,
  type OutboxStatsReader,
  PUBLISH_RATE_WINDOW_MS,
  type RelayStore,
} from './relay-store';

/**
 * The in-memory storage's outbox: rows appended by its writes (and taken back with a rolled-back
 * transaction), and the relay's view of them. One process, so this relay always leads. The mock never
 * relays; tests and embedders may.
 */
export interface MemoryOutbox {
  /** Appends rows; the returned function takes them back (the transaction's undo). */
  append(rows: readonly NewOutboxRow[]): () => void;
  readonly relayStore: RelayStore & OutboxStatsReader;
}

/** An empty outbox; `clock` stamps each row's `createdAt` (what `oldestUnpublishedMs` measures from). */
export function createMemoryOutbox(clock: Clock): MemoryOutbox {
  const rows: Array<OutboxRow & { publishedAt: number | null }> = [];
  let position = 0;
  const lastSeqs = new Map<string, number>();
  const stats = (now: number): OutboxStats => {
    const waiting = rows.filter((row) => row.publishedAt === null);
    const recent = rows.filter(
      (row) => row.publishedAt !== null && row.publishedAt > now - PUBLISH_RATE_WINDOW_MS,
    );
    const oldest = waiting[0]?.createdAt;
    return {
      depth: waiting.length,
      oldestUnpublishedMs: oldest === undefined ? 0 : Math.max(0, now - oldest),
      publishedPerSecond: recent.length / (PUBLISH_RATE_WINDOW_MS / 1000),
    };
  };
  return {
    append(added) {
      const now = clock.now();
      const seqsBefore = new Map(lastSeqs);
      const stored = added.map((row) => {
        position += 1;
        const streamSeq = (lastSeqs.get(row.streamId) ?? 0) + 1;
        lastSeqs.set(row.streamId, streamSeq);
        return { ...row, position, createdAt: now, publishedAt: null, streamSeq };
      });
      rows.push(...stored);
      return () => {
        for (const row of stored) rows.splice(rows.indexOf(row), 1);
        for (const row of stored) {
          const before = seqsBefore.get(row.streamId);
          if (before === undefined) lastSeqs.delete(row.streamId);
          else lastSeqs.set(row.streamId, before);
        }
      };
    },
    relayStore: {
      lead: async () => true,
      unpublished: async (limit, inFlight = []) =>
        rows
          .filter((row) => row.publishedAt === null && !inFlight.includes(row.position))
          .slice(0, limit)
          .map(({ publishedAt: _publishedAt, ...row }) => row),
      async markPublished(positions, at) {
        const marked = new Set(positions);
        for (const row of rows) if (marked.has(row.position)) row.publishedAt = at;
      },
      async prune(before) {
        const kept = rows.filter((row) => row.publishedAt === null || row.publishedAt >= before);
        const pruned = rows.length - kept.length;
        rows.splice(0, rows.length, ...kept);
        return pruned;
      },
      close: async () => undefined,
      outboxStats: async (now) => stats(now),
    },
  };
}
