import type { Durability } from './baselines';
import { writeWithDexie } from './baselines';
import { RowFactory, seedCommands } from './fixtures';
import { executeInChunks, freshDb, productDeps } from './setups';

/**
 * A burst of commands: Outpost's command pipeline, `chunkSize` issued at a time so each chunk commits as one
 * group (validated and decided one by one), against a raw `bulkAdd` of the same rows in one transaction.
 * Each round starts from an empty database.
 */
export interface BurstResult {
  readonly count: number;
  readonly ms: number;
  /** Longest main-thread task seen during the burst (PerformanceObserver 'longtask'), 0 if none ≥ 50 ms. */
  readonly longestTaskMs: number;
}

export async function burstRound({
  variant,
  commands,
  eventsPerOrder,
  chunkSize,
  durability,
}: {
  variant: 'outpost' | 'raw';
  commands: number;
  eventsPerOrder: number;
  chunkSize: number;
  durability: Durability;
}): Promise<BurstResult> {
  const db = await freshDb(`burst-${variant}`, durability);
  const orders = Math.ceil(commands / eventsPerOrder);
  let work: () => Promise<void>;
  if (variant === 'outpost') {
    const { commands: burst } = seedCommands(orders, eventsPerOrder);
    const deps = productDeps(db);
    work = () => executeInChunks(deps, burst, chunkSize);
  } else {
    const factory = new RowFactory();
    const { orderIds } = seedCommands(orders, 0);
    const rows = orderIds.flatMap((orderId, n) =>
      Array.from({ length: eventsPerOrder }, () => factory.next(orderId, n)),
    );
    work = () => writeWithDexie(db, rows, { lastRowPerStream: true });
  }
  let longest = 0;
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) longest = Math.max(longest, entry.duration);
  });
  observer.observe({ type: 'longtask', buffered: false });
  const start = performance.now();
  await work();
  const ms = performance.now() - start;
  // Long-task entries are delivered after the task ends: give the observer a turn.
  await new Promise((resolve) => setTimeout(resolve, 50));
  observer.disconnect();
  const count = await db.events.count();
  if (count !== orders * eventsPerOrder) throw new Error(`burst stored ${count} events`);
  return { count, ms, longestTaskMs: longest };
}
