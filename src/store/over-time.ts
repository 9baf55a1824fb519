import { Observable, type OperatorFunction, switchMap } from 'rxjs';

/**
 * Derives a view from the latest raw read and the time, and derives it again whenever time alone changes
 * it: a lease passing, a retry time arriving. A live query re-runs only when rows change, so without this a
 * view would keep saying "sending" for a flusher that died, or "retrying at" a time long past.
 *
 * `nextChange` says when the view derived at `now` stops being true (null: not before the next read).
 */
export function overTime<R, V>(
  derive: (raw: R, now: number) => V,
  nextChange: (raw: R, now: number) => number | null,
  now: () => number,
): OperatorFunction<R, V> {
  return switchMap(
    (raw) =>
      new Observable<V>((subscriber) => {
        let timer: ReturnType<typeof setTimeout> | undefined;
        const emit = () => {
          const at = now();
          subscriber.next(derive(raw, at));
          const next = nextChange(raw, at);
          // A timer that fires a moment early finds the same `next` and waits out the rest.
          if (next !== null) timer = setTimeout(emit, Math.max(0, next - at));
        };
        emit();
        return () => clearTimeout(timer);
      }),
  );
}
