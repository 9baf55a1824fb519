import { lazy, Suspense, useRef } from 'react';
import { EMPTY, type Observable } from 'rxjs';
import type { Toast } from '../subscribers/notifications';
import { useNotifications } from './outpost-context';
import { useHash } from './routing';
import { useObservable } from './use-observable';

const NO_TOASTS: Observable<readonly Toast[]> = EMPTY;

// Drawn only once a decision comes in, seconds after the first screen at the earliest: not part of it.
const ToastLines = lazy(() => import('./components/toast-lines').then((m) => ({ default: m.ToastLines })));

/**
 * Server decisions, announced politely; the region is always in the DOM so screen readers hear additions.
 * In the page's flow under the status bar, never over it: a toast cannot cover a control or what the person
 * works on (`ToastLines` says how they collapse and when they go).
 */
export function Toasts() {
  const notifications = useNotifications();
  const toasts = useObservable(notifications?.toasts$ ?? NO_TOASTS, []);
  // Once a toast has shown on a screen, its line stays (empty) until the next screen: decisions coming and
  // going would otherwise move the page under the person's pointer every few seconds.
  const screen = useHash();
  const reservedOn = useRef<string | null>(null);
  if (toasts.length > 0) reservedOn.current = screen;
  return (
    <div
      className={reservedOn.current === screen ? 'toasts toasts--shown' : 'toasts'}
      role="status"
      aria-live="polite"
    >
      {notifications && toasts.length > 0 ? (
        <Suspense fallback={null}>
          <ToastLines toasts={toasts} dismiss={(id) => notifications.dismiss(id)} />
        </Suspense>
      ) : null}
    </div>
  );
}
