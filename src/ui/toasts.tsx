import { useState } from 'react';
import { EMPTY, type Observable } from 'rxjs';
import type { Toast } from '../subscribers/notifications';
import { useObservable } from './hooks';
import { useNotifications } from './outpost-context';

const NO_TOASTS: Observable<readonly Toast[]> = EMPTY;

/** Server decisions, announced politely; the region is always in the DOM so screen readers hear additions. */
export function Toasts() {
  const notifications = useNotifications();
  const toasts = useObservable(notifications?.toasts$ ?? NO_TOASTS, []);
  return (
    <div className="toasts" role="status" aria-live="polite">
      {toasts.map((toast) => (
        <div key={toast.id} className={`toast toast--${toast.tone}`}>
          <p className="toast__title">{toast.title}</p>
          <p className="toast__body">
            {toast.body} <a href={`#/orders/${toast.orderId}`}>Open order</a>
          </p>
          <button
            type="button"
            className="button button--quiet toast__close"
            onClick={() => notifications?.dismiss(toast.id)}
          >
            Dismiss<span className="visually-hidden"> {toast.title}</span>
          </button>
        </div>
      ))}
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
