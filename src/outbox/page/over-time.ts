import { Observable, type OperatorFunction } from 'rxjs';

/**
 * Derives a view from the latest raw read and the time, and derives it again whenever time alone changes
 * it: a lease passing, a retry time arriving. A live query re-runs only when rows change, so without this a
 * view would keep saying "sending" for a flusher that died, or "retrying at" a time long past.
 *
 * `nextChange` says when the view derived at `now` stops being true (null: not before the next read).
 * Written without rxjs operators on purpose: the status bar is on the first screen, and each operator
 * brings its own weight into that bundle.
 */
export function overTime<R, V>(
  derive: (raw: R, now: number) => V,
  nextChange: (raw: R, now: number) => number | null,
  now: () => number,
): OperatorFunction<R, V> {
  return (source) =>
    new Observable<V>((subscriber) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const emit = (raw: R) => {
        clearTimeout(timer);
        const at = now();
        subscriber.next(derive(raw, at));
        const next = nextChange(raw, at);
        // A timer that fires a moment early finds the same `next` and waits out the rest.
        if (next !== null) timer = setTimeout(() => emit(raw), Math.max(0, next - at));
      };
      const subscription = source.subscribe({
        next: emit,
        error: (error: unknown) => subscriber.error(error),
        complete: () => subscriber.complete(),
      });
      return () => {
        clearTimeout(timer);
        subscription.unsubscribe();
      };
    });
}
