import Dexie from 'dexie';
import { afterEach, describe, expect, it } from 'vitest';
import { liveRead } from '../../../src/outbox/page/live-read';

/**
 * `liveRead` (src/outbox/page/live-read.ts): a burst of writes costs one read per interval, never loses the
 * last write, reads again after a write made through another connection, ignores tables it was not asked
 * about, passes on no answer twice, and keeps going after a failed read.
 */

interface Row {
  readonly id: string;
  readonly n: number;
}

function open(name: string) {
  const db = new Dexie(name);
  db.version(1).stores({ counters: '&id', other: '&id' });
  return db;
}

const opened: Dexie[] = [];

/** A new database, created and left a moment: creating it announces every table as written. */
async function created(): Promise<Dexie> {
  const db = open(`live-${crypto.randomUUID()}`);
  opened.push(db);
  await db.open();
  await new Promise((resolve) => setTimeout(resolve, 20));
  return db;
}
afterEach(() => {
  for (const db of opened.splice(0)) db.close();
});

function watch(db: Dexie, options: Parameters<typeof liveRead<number>>[3] = {}) {
  const seen: number[] = [];
  const errors: unknown[] = [];
  let reads = 0;
  let fail = false;
  const stop = liveRead(
    db,
    async () => {
      reads += 1;
      if (fail) throw new Error('read failed');
      return (await db.table<Row, string>('counters').get('a'))?.n ?? 0;
    },
    { next: (value) => seen.push(value), error: (error) => errors.push(error) },
    options,
  );
  return {
    seen,
    errors,
    stop,
    reads: () => reads,
    failNext(value: boolean) {
      fail = value;
    },
  };
}

const until = async (check: () => boolean, ms = 2_000) => {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
};

describe('liveRead', () => {
  it('reads a burst of writes once they pause or every 100 ms, and always after the last one', async () => {
    const db = await created();
    const live = watch(db, {});
    await until(() => live.seen.length === 1);
    for (let n = 1; n <= 40; n += 1) await db.table('counters').put({ id: 'a', n });
    await until(() => live.seen.at(-1) === 40);
    // 40 commits, each announced: far fewer reads, and the last answer is the last write.
    expect(live.reads()).toBeLessThan(20);
    expect(live.seen[0]).toBe(0);
    live.stop();
  });

  it('shows a burst that never pauses while it lasts, not only once it ends', async () => {
    const db = await created();
    const live = watch(db, {});
    await until(() => live.seen.length === 1);
    const shownDuring: number[] = [];
    const started = Date.now();
    for (let n = 1; Date.now() - started < 500; n += 1) {
      await db.table('counters').put({ id: 'a', n });
      await new Promise((resolve) => setTimeout(resolve, 5));
      shownDuring.push(live.seen.length);
    }
    // Writes every few ms for half a second, never pausing a frame: still read at least every 100 ms.
    expect(shownDuring.at(-1)).toBeGreaterThanOrEqual(4);
    live.stop();
  });

  it('reads again after a write that landed while it was reading', async () => {
    const db = await created();
    let release: (() => void) | null = null;
    const seen: number[] = [];
    const stop = liveRead(
      db,
      async () => {
        const value = (await db.table<Row, string>('counters').get('a'))?.n ?? 0;
        // A slow reader: the write below commits while this read is still in flight.
        await new Promise<void>((resolve) => {
          release = resolve;
        });
        return value;
      },
      { next: (value) => seen.push(value), error: () => undefined },
      { settleMs: 0 },
    );
    await until(() => release !== null);
    await db.table('counters').put({ id: 'a', n: 5 });
    await new Promise((resolve) => setTimeout(resolve, 20));
    const first = release as (() => void) | null;
    release = null;
    first?.();
    await until(() => release !== null);
    (release as (() => void) | null)?.();
    await until(() => seen.at(-1) === 5);
    expect(seen).toEqual([0, 5]);
    stop();
  });

  it('reads again after a write through another connection, only for the tables it follows', async () => {
    const db = await created();
    const other = open(db.name);
    opened.push(other);
    await other.open();
    const live = watch(db, { tables: ['counters'], settleMs: 0 });
    await until(() => live.reads() === 1);
    await other.table('other').put({ id: 'x', n: 1 });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(live.reads()).toBe(1);
    await other.table('counters').put({ id: 'a', n: 7 });
    await until(() => live.seen.at(-1) === 7);
    expect(live.reads()).toBe(2);
    live.stop();
  });

  it('passes on no answer twice, and keeps going after a failed read', async () => {
    const db = await created();
    const live = watch(db, { settleMs: 0 });
    await until(() => live.seen.length === 1);
    await db.table('other').put({ id: 'x', n: 1 });
    await until(() => live.reads() === 2);
    expect(live.seen).toEqual([0]);

    live.failNext(true);
    await db.table('counters').put({ id: 'a', n: 1 });
    await until(() => live.errors.length === 1);
    live.failNext(false);
    await db.table('counters').put({ id: 'a', n: 2 });
    await until(() => live.seen.at(-1) === 2);
    expect(live.seen).toEqual([0, 2]);

    live.stop();
    await db.table('counters').put({ id: 'a', n: 3 });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(live.seen).toEqual([0, 2]);
  });
});
