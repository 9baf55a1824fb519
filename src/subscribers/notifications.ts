import { BehaviorSubject, filter, merge, mergeMap, type Observable } from 'rxjs';
import type { OutpostDb, StoredEvent, StoredRefusalRecord, StoredServerEvent } from '../outbox/page';

/**
 * Tells the person when the server decided one of their streams (an order, a stock count): an in-app toast
 * always, and a system notification when they granted permission (the app may be in a background tab when
 * the answer arrives through a sync they did not start). Each stream type words its own decisions
 * (`toastOf`, from the app's stream screens); the service names none.
 */

export interface Toast {
  readonly id: string;
  readonly tone: 'success' | 'error';
  readonly title: string;
  readonly body: string;
  /** Where the decided order or count is, and what the link says. */
  readonly href: string;
  readonly linkLabel: string;
}

/** Shows a system notification; injected so tests and browsers without the API can leave it out. */
export type SystemNotifier = (title: string, body: string, tag: string) => void;

export interface NotificationServiceDeps {
  readonly bus: { readonly events$: Observable<StoredEvent> };
  readonly db: OutpostDb;
  /** The toast for a server decision, worded by its stream type (the read models give it a name the person knows). */
  readonly toastOf: (event: StoredServerEvent, db: OutpostDb) => Promise<Toast | null>;
  /**
   * The toast for a change of this device that no longer applied once another device's change arrived
   * first (a `CommandRefused` record); none by default.
   */
  readonly refusalToastOf?: (record: StoredRefusalRecord) => Toast | null;
  readonly system?: SystemNotifier | null;
  /** How many toasts stay on screen; the oldest goes first. */
  readonly maxToasts?: number;
}

export interface NotificationService {
  readonly toasts$: Observable<readonly Toast[]>;
  dismiss(id: string): void;
  stop(): void;
}

/** The browser's Notification API, used when permission was granted and the page is hidden (never prompts). */
export function browserNotifier(): SystemNotifier | null {
  if (typeof Notification === 'undefined') return null;
  return (title, body, tag) => {
    // A person looking at the app already sees the toast; the system notification is for a hidden tab.
    if (Notification.permission !== 'granted' || document.visibilityState === 'visible') return;
    try {
      new Notification(title, { body, tag });
    } catch {
      // Android Chrome allows notifications only from a service worker; the toast already told the person.
    }
  };
}

export function startNotificationService(deps: NotificationServiceDeps): NotificationService {
  const toasts = new BehaviorSubject<readonly Toast[]>([]);
  const maxToasts = deps.maxToasts ?? 4;
  const decisions = deps.bus.events$.pipe(
    filter((event): event is StoredServerEvent => event.kind === 'server'),
    mergeMap((event) => deps.toastOf(event, deps.db)),
  );
  const refusals = deps.bus.events$.pipe(
    filter(
      (event): event is StoredRefusalRecord => event.kind === 'local' && event.type === 'CommandRefused',
    ),
    mergeMap(async (record) => deps.refusalToastOf?.(record) ?? null),
  );
  const subscription = merge(decisions, refusals)
    .pipe(filter((toast): toast is Toast => toast !== null))
    .subscribe((toast) => {
      // A pull may bring an event the push answer already applied; the eventId keeps it to one toast.
      if (toasts.value.some((existing) => existing.id === toast.id)) return;
      toasts.next([...toasts.value, toast].slice(-maxToasts));
      deps.system?.(toast.title, toast.body, toast.id);
    });
  return {
    toasts$: toasts.asObservable(),
    dismiss: (id) => toasts.next(toasts.value.filter((toast) => toast.id !== id)),
    stop: () => {
      subscription.unsubscribe();
      toasts.complete();
    },
  };
}
