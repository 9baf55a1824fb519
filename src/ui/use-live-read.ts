import { type DependencyList, useEffect, useState } from 'react';
import { liveRead } from '../outbox/page';
import { useOutpost } from './outpost-context';

/**
 * A live read whose answer also depends on the time (a lease passing turns "sending" back into "saved on
 * device"): it reads again after every committed write, at most once a frame (`liveRead`), and again at the
 * moment its last answer said it stops being true (`changesAt`). No polling: one timer, at that moment.
 */
export function useLiveRead<T extends { readonly changesAt: number | null }>(
  read: (now: number) => Promise<T>,
  deps: DependencyList,
): T | undefined {
  const { clock, db } = useOutpost();
  const [tick, setTick] = useState(0);
  const [value, setValue] = useState<T | undefined>(undefined);
  // biome-ignore lint/correctness/useExhaustiveDependencies: `read` is the caller's, renewed each render; `deps` say when it changes, as for useLiveQuery.
  useEffect(
    () =>
      liveRead(db, () => read(clock.now()), {
        next: setValue,
        // The last answer stays on screen; the next write reads again.
        error: (error: unknown) => console.warn('[outpost] live read failed', error),
      }),
    [db, clock, tick, ...deps],
  );
  const changesAt = value?.changesAt ?? null;
  useEffect(() => {
    if (changesAt === null) return;
    const timer = setTimeout(() => setTick((count) => count + 1), Math.max(0, changesAt - clock.now()));
    return () => clearTimeout(timer);
  }, [changesAt, clock]);
  return value;
}
