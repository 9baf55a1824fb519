import { useEffect, useRef, useState } from 'react';
import { EMPTY, type Observable } from 'rxjs';
import type { Toast } from '../subscribers/notifications';
import { useNotifications } from './outpost-context';
import { useObservable } from './use-observable';

const NO_TOASTS: Observable<readonly Toast[]> = EMPTY;

/** Server decisions, announced politely; the region is always in the DOM so screen readers hear additions. */
export function Toasts() {
  const notifications = useNotifications();
  const toasts = useObservable(notifications?.toasts$ ?? NO_TOASTS, []);
  return (
    <div className="toasts" role="status" aria-live="polite">
      {toasts.map((toast) => (
        <ToastCard key={toast.id} toast={toast} onDismiss={() => notifications?.dismiss(toast.id)} />
      ))}
    </div>
  );
}

/** How long a toast stays: the decision is also on the order itself, so the toast is only a heads-up. */
const TOAST_MS = 8000;

function ToastCard({ toast, onDismiss }: { readonly toast: Toast; readonly onDismiss: () => void }) {
  const [held, setHeld] = useState(false);
  const dismiss = useRef(onDismiss);
  dismiss.current = onDismiss;
  useEffect(() => {
    // Kept while the pointer or focus is on it, so nobody loses a toast they are reading or tabbing into.
    if (held) return;
    const timer = setTimeout(() => dismiss.current(), TOAST_MS);
    return () => clearTimeout(timer);
  }, [held]);
  return (
    // biome-ignore lint/a11y/noStaticElementInteractions: hover and focus only pause the dismiss timer.
    <div
      className={`toast toast--${toast.tone}`}
      onMouseEnter={() => setHeld(true)}
      onMouseLeave={() => setHeld(false)}
      onFocus={() => setHeld(true)}
      onBlur={() => setHeld(false)}
    >
      <p className="toast__title">{toast.title}</p>
      <p className="toast__body">
        {toast.body} <a href={toast.href}>{toast.linkLabel}</a>
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
