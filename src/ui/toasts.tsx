import { useEffect, useRef, useState } from 'react';
import { EMPTY, type Observable } from 'rxjs';
import type { Toast } from '../subscribers/notifications';
import { useNotifications } from './outpost-context';
import { useObservable } from './use-observable';

const NO_TOASTS: Observable<readonly Toast[]> = EMPTY;

/** How long a toast stays: the decision is also on the order itself, so the toast is only a heads-up. */
export const TOAST_MS = 8000;

/**
 * Server decisions, announced politely; the region is always in the DOM so screen readers hear additions.
 * In the page's flow under the status bar, never over it: a toast cannot cover a control or what the person
 * works on. Several collapse into one line (the newest, and how many more, which open on demand). Each goes
 * `TOAST_MS` after it came, whatever the pointer rests on; only the keyboard's focus inside holds them, so
 * nobody tabbing to a link loses it under their cursor.
 */
export function Toasts() {
  const notifications = useNotifications();
  const toasts = useObservable(notifications?.toasts$ ?? NO_TOASTS, []);
  const [focused, setFocused] = useState(false);
  const [expanded, setExpanded] = useState(false);
  const arrivals = useRef(new Map<string, number>());
  const dismiss = useRef((id: string) => notifications?.dismiss(id));
  dismiss.current = (id: string) => notifications?.dismiss(id);

  useEffect(() => {
    const now = Date.now();
    const shown = new Set(toasts.map((toast) => toast.id));
    for (const id of arrivals.current.keys()) if (!shown.has(id)) arrivals.current.delete(id);
    for (const toast of toasts) if (!arrivals.current.has(toast.id)) arrivals.current.set(toast.id, now);
    if (focused || toasts.length === 0) return;
    const timers = toasts.map((toast) => {
      const age = now - (arrivals.current.get(toast.id) ?? now);
      return setTimeout(() => dismiss.current(toast.id), Math.max(0, TOAST_MS - age));
    });
    return () => {
      for (const timer of timers) clearTimeout(timer);
    };
  }, [toasts, focused]);

  const newest = toasts.at(-1);
  const earlier = toasts.slice(0, -1).reverse();
  return (
    <div
      className={toasts.length > 0 ? 'toasts toasts--shown' : 'toasts'}
      role="status"
      aria-live="polite"
      onFocus={() => setFocused(true)}
      onBlur={(event) => {
        if (event.currentTarget.contains(event.relatedTarget as Node | null)) return;
        // Each gets its full time again from when the person left it.
        const now = Date.now();
        for (const id of arrivals.current.keys()) arrivals.current.set(id, now);
        setFocused(false);
      }}
    >
      {newest ? <ToastLine toast={newest} onDismiss={() => notifications?.dismiss(newest.id)} /> : null}
      {earlier.length > 0 ? (
        <button
          type="button"
          className="button button--quiet toasts__more"
          aria-expanded={expanded}
          onClick={() => setExpanded((open) => !open)}
        >
          {expanded ? 'Fewer' : `${earlier.length} more`}
          <span className="visually-hidden"> {earlier.length === 1 ? 'decision' : 'decisions'}</span>
        </button>
      ) : null}
      {earlier.map((toast) => (
        <ToastLine
          key={toast.id}
          toast={toast}
          hidden={!expanded}
          onDismiss={() => notifications?.dismiss(toast.id)}
        />
      ))}
    </div>
  );
}

function ToastLine({
  toast,
  onDismiss,
  hidden = false,
}: {
  readonly toast: Toast;
  readonly onDismiss: () => void;
  /** Collapsed behind "N more": kept in the page (and its text in the region), shown on demand. */
  readonly hidden?: boolean;
}) {
  return (
    <div className={`toast toast--${toast.tone}`} hidden={hidden}>
      <p className="toast__text">
        <span className="toast__title">{toast.title}</span> {toast.body}{' '}
        <a href={toast.href}>{toast.linkLabel}</a>
      </p>
      <button type="button" className="button button--quiet toast__close" onClick={onDismiss}>
        Dismiss<span className="visually-hidden"> {toast.title}</span>
      </button>
    </div>
  );
}

type Permission = NotificationPermission | 'unsupported';

const currentPermission = (): Permission =>
  typeof Notification === 'undefined' ? 'unsupported' : Notification.permission;

/** Asking is the person's decision, so it happens only from this button, never on load. */
export function NotificationPermissionButton() {
  const [permission, setPermission] = useState<Permission>(currentPermission);
  if (permission !== 'default') return null;
  return (
    <button
      type="button"
      className="button button--quiet"
      onClick={async () => setPermission(await Notification.requestPermission())}
    >
      Notify me about decisions
    </button>
  );
}
