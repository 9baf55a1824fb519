import { describe, expect, it } from 'vitest';
import {
  createLockedFlush,
  FLUSH_LOCK_NAME,
  type FlushRequest,
} from '../../../src/outbox/device/sync/flush-lock';
import { createFakeLocks } from './fake-locks';

function deferred<T>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

describe('the cross-context flush lock', () => {
  it('never lets two contexts flush at the same moment', async () => {
    const { locks, requested } = createFakeLocks();
    let active = 0;
    let maxActive = 0;
    const flushOf = () =>
      createLockedFlush(
        async () => {
          active += 1;
          maxActive = Math.max(maxActive, active);
          await new Promise((resolve) => setImmediate(resolve));
          active -= 1;
          return 'report';
        },
        { locks },
      );
    const tab = flushOf();
    const otherTab = flushOf();
    const worker = flushOf();
    await Promise.all([tab(), otherTab(), worker(), tab(), worker()]);
    expect(maxActive).toBe(1);
    expect(new Set(requested)).toEqual(new Set([FLUSH_LOCK_NAME]));
  });

  it('folds calls made during a run into one follow-up run that starts after it and forces if any asked', async () => {
    const gate = deferred<void>();
    const runs: FlushRequest[] = [];
    const flush = createLockedFlush(async (request) => {
      runs.push(request);
      if (runs.length === 1) await gate.promise;
      return runs.length;
    });
    const first = flush({ reasons: ['command'] });
    const second = flush({ reasons: ['command'] });
    const third = flush({ force: true, reasons: ['sync-now'] });
    gate.resolve();
    expect(await first).toBe(1);
    expect(await second).toBe(2);
    expect(await third).toBe(2);
    expect(runs).toEqual([
      { force: false, pull: false, reasons: ['command'] },
      { force: true, pull: false, reasons: ['command', 'sync-now'] },
    ]);
  });

  it('still runs the follow-up when the running flush failed', async () => {
    let calls = 0;
    const flush = createLockedFlush(async () => {
      calls += 1;
      if (calls === 1) throw new Error('storage closed');
      return 'ok';
    });
    const failing = flush();
    const next = flush();
    await expect(failing).rejects.toThrow('storage closed');
    await expect(next).resolves.toBe('ok');
  });
});
