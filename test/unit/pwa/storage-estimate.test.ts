import { filter, firstValueFrom } from 'rxjs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { watchStorage } from '../../../src/outbox/page/storage-estimate';

afterEach(() => {
  vi.useRealTimers();
});

function countingStorage() {
  let usage = 0;
  const estimate = vi.fn(async () => {
    usage += 1000;
    return { usage, quota: 1_000_000 };
  });
  const storage = {
    estimate,
    persist: async () => true,
    persisted: async () => true,
  } as unknown as StorageManager;
  return { storage, estimate };
}

describe('the storage estimate', () => {
  it('answers a burst of refreshes with one estimate at the end of the interval, not one each', async () => {
    vi.useFakeTimers();
    const { storage, estimate } = countingStorage();
    const watched = watchStorage(storage, 1_000);
    await vi.advanceTimersByTimeAsync(0);
    expect(estimate).toHaveBeenCalledTimes(1);

    const burst = Array.from({ length: 50 }, () => watched.refresh());
    await vi.advanceTimersByTimeAsync(999);
    expect(estimate).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(1);
    await Promise.all(burst);
    expect(estimate).toHaveBeenCalledTimes(2);
    // The last refresh asked after every command of the burst: what it shows is no older than they are.
    expect((await firstValueFrom(watched.storage$.pipe(filter(Boolean)))).usage).toBe(2000);
  });

  it('estimates at once when the last estimate is older than the interval', async () => {
    vi.useFakeTimers();
    const { storage, estimate } = countingStorage();
    const watched = watchStorage(storage, 1_000);
    await vi.advanceTimersByTimeAsync(5_000);
    await watched.refresh();
    expect(estimate).toHaveBeenCalledTimes(2);
  });
});
