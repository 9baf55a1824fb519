import { useState } from 'react';

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
