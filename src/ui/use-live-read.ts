import { useLiveQuery } from 'dexie-react-hooks';
import { type DependencyList, useEffect, useState } from 'react';
import { useOutpost } from './outpost-context';

/**
 * A live query whose answer also depends on the time (a lease passing turns "sending" back into "saved on
 * device"): it re-runs when the rows it read change, as `useLiveQuery` does, and again at the moment its
 * last answer said it stops being true (`changesAt`). No polling: one timer, at that moment.
 */
export function useLiveRead<T extends { readonly changesAt: number | null }>(
  read: (now: number) => Promise<T>,
  deps: DependencyList,
): T | undefined {
  const { clock } = useOutpost();
  const [tick, setTick] = useState(0);
  const value = useLiveQuery(() => read(clock.now()), [...deps, tick]);
  const changesAt = value?.changesAt ?? null;
  useEffect(() => {
    if (changesAt === null) return;
    const timer = setTimeout(() => setTick((count) => count + 1), Math.max(0, changesAt - clock.now()));
    return () => clearTimeout(timer);
  }, [changesAt, clock]);
  return value;
}
