import { useEffect, useRef, useState } from 'react';
import type { Toast } from '../../subscribers/notifications';

/** How long a toast stays: the decision is also on the order itself, so the toast is only a heads-up. */
export const TOAST_MS = 8000;

/**
 * The toasts, one line: the newest, and how many more, which open on demand. Each goes `TOAST_MS` after it
 * came, whatever the pointer rests on; only the keyboard's focus inside holds them, so nobody tabbing to a
 * link loses it, and once the focus leaves each gets its full time again.
 */
export function ToastLines({
  toasts,
  dismiss,
}: {
  readonly toasts: readonly Toast[];
  readonly dismiss: (id: string) => void;
}) {
  const [focused, setFocused] = useState(false);
  const [expanded, setExpanded] = useState(false);
  const arrivals = useRef(new Map<string, number>());
  const dismissNow = useRef(dismiss);
  dismissNow.current = dismiss;

  useEffect(() => {
    const now = Date.now();
    const shown = new Set(toasts.map((toast) => toast.id));
    for (const id of arrivals.current.keys()) if (!shown.has(id)) arrivals.current.delete(id);
    for (const toast of toasts) if (!arrivals.current.has(toast.id)) arrivals.current.set(toast.id, now);
    if (focused) return;
    const timers = toasts.map((toast) => {
      const age = now - (arrivals.current.get(toast.id) ?? now);
      return setTimeout(() => dismissNow.current(toast.id), Math.max(0, TOAST_MS - age));
    });
    return () => {
      for (const timer of timers) clearTimeout(timer);
    };
  }, [toasts, focused]);

  const newest = toasts.at(-1);
  const earlier = toasts.slice(0, -1).reverse();
  return (
    // biome-ignore lint/a11y/noStaticElementInteractions: focus inside only holds the toasts on screen.
    <div
      className="toasts__lines"
      onFocus={() => setFocused(true)}
      onBlur={(event) => {
        if (event.currentTarget.contains(event.relatedTarget as Node | null)) return;
        // Each gets its full time again from when the person left it.
        const now = Date.now();
        for (const id of arrivals.current.keys()) arrivals.current.set(id, now);
        setFocused(false);
      }}
    >
      {newest ? <ToastLine toast={newest} onDismiss={() => dismiss(newest.id)} /> : null}
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
        <ToastLine key={toast.id} toast={toast} hidden={!expanded} onDismiss={() => dismiss(toast.id)} />
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
