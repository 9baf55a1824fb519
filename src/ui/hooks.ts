import { useCallback, useEffect, useState } from 'react';
import type { Observable } from 'rxjs';
import { useOutpostIds } from './outpost-context';

/** The latest value of an observable, for values the composition root owns (sync status, storage…). */
export function useObservable<T>(source: Observable<T>, initial: T): T {
  const [value, setValue] = useState<T>(initial);
  useEffect(() => {
    const subscription = source.subscribe((next) => setValue(() => next));
    return () => subscription.unsubscribe();
  }, [source]);
  return value;
}

/**
 * A command id taken when the person starts an action and kept until it succeeds: a double click, or a
 * retry after a refusal, sends the same id, and the command handler answers a repeat without writing.
 */
export function useCommandId(): readonly [string, () => void] {
  const ids = useOutpostIds();
  const [commandId, setCommandId] = useState(ids);
  const renew = useCallback(() => setCommandId(ids()), [ids]);
  return [commandId, renew];
}
