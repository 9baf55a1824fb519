import { useEffect, useState } from 'react';
import type { Observable } from 'rxjs';

/**
 * Apart from the command hooks (`hooks.ts`): the status bar and the toasts use it on the first screen, which
 * sends no command, so the submit logic and its error wording load with the first form.
 */
/** The latest value of an observable, for values the composition root owns (sync status, storage…). */
export function useObservable<T>(source: Observable<T>, initial: T): T {
  const [value, setValue] = useState<T>(initial);
  useEffect(() => {
    const subscription = source.subscribe((next) => setValue(() => next));
    return () => subscription.unsubscribe();
  }, [source]);
  return value;
}
