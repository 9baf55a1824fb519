/**
 * The messages a consumer runtime received before their stream's predecessor was applied, and since when: it
 * decides when a stream has waited long enough for numbers that may never come (docs/server-outbox.md,
 * "Order"). In memory: a restarted service waits again, from its start.
 */
export interface EarlyMessages {
  /** `sequence` (the broker's) is `streamSeq` of `streamId` and came early now. */
  cameEarly(sequence: number, streamId: string, streamSeq: number, now: number): void;
  /** The message was applied, found applied or parked: it waits no more. */
  done(sequence: number): void;
  /**
   * Whether the stream may go on with this message without the numbers before it: it has come early for
   * `waitMs`, and no lower number of its stream has come early within `waitMs` (that one goes first).
   */
  mayGoOn(streamId: string, streamSeq: number, now: number): boolean;
}

interface Waiting {
  readonly streamId: string;
  readonly streamSeq: number;
  readonly since: number;
  lastSeen: number;
}

export function earlyMessages(waitMs: number): EarlyMessages {
  const bySequence = new Map<number, Waiting>();
  const byStream = new Map<string, Set<Waiting>>();
  return {
    cameEarly(sequence, streamId, streamSeq, now) {
      const known = bySequence.get(sequence);
      if (known) {
        known.lastSeen = now;
        return;
      }
      const waiting: Waiting = { streamId, streamSeq, since: now, lastSeen: now };
      bySequence.set(sequence, waiting);
      const stream = byStream.get(streamId) ?? new Set<Waiting>();
      stream.add(waiting);
      byStream.set(streamId, stream);
    },
    done(sequence) {
      const waiting = bySequence.get(sequence);
      if (!waiting) return;
      bySequence.delete(sequence);
      const stream = byStream.get(waiting.streamId);
      stream?.delete(waiting);
      if (stream?.size === 0) byStream.delete(waiting.streamId);
    },
    mayGoOn(streamId, streamSeq, now) {
      const stream = byStream.get(streamId);
      if (!stream) return false;
      let waitedLongEnough = false;
      for (const waiting of stream) {
        if (waiting.streamSeq === streamSeq) {
          waitedLongEnough ||= now - waiting.since >= waitMs;
        } else if (waiting.streamSeq < streamSeq && now - waiting.lastSeen < waitMs) {
          // A lower number still comes back (another instance may have applied it since: then it stops).
          return false;
        }
      }
      return waitedLongEnough;
    },
  };
}
