import { BehaviorSubject, filter, map, mergeMap, type Observable } from 'rxjs';
import type { OrderSummary } from '../orders/read-models';
import { orderEventOf, type StoredOrderEvent } from '../orders/stored-events';
import { type OutpostDb, readModelTable, type StoredEvent } from '../outbox/views';

/**
 * Tells the person when the server decided one of their orders: an in-app toast always, and a system
 * notification when they granted permission (the app may be in a background tab when the answer arrives
 * through a sync they did not start).
 */

export interface Toast {
  readonly id: string;
  readonly tone: 'success' | 'error';
  readonly title: string;
  readonly body: string;
  readonly orderId: string;
}

/** Shows a system notification; injected so tests and browsers without the API can leave it out. */
export type SystemNotifier = (title: string, body: string, tag: string) => void;

export interface NotificationServiceDeps {
  readonly bus: { readonly events$: Observable<StoredEvent> };
  readonly db: OutpostDb;
  readonly system?: SystemNotifier | null;
  /** How many toasts stay on screen; the oldest goes first. */
  readonly maxToasts?: number;
}

export interface NotificationService {
  readonly toasts$: Observable<readonly Toast[]>;
  dismiss(id: string): void;
  stop(): void;
}

/** An order's decision from the server: what a person is told about. */
type OrderDecision = Extract<StoredOrderEvent, { kind: 'server' }>;
const decisionOf = (event: StoredEvent): OrderDecision | null => {
  const order = orderEventOf(event);
  return order?.kind === 'server' ? order : null;
};

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
  const subscription = deps.bus.events$
    .pipe(
      map(decisionOf),
      filter((event): event is OrderDecision => event !== null),
      mergeMap(async (event) => {
        const orderId = event.streamId.replace(/^order-/, '');
        const summary = await readModelTable<OrderSummary>(deps.db, 'orders').get(orderId);
        return { event, orderId, customer: summary?.customerName ?? 'An order' };
      }),
    )
    .subscribe(({ event, orderId, customer }) => {
      const toast: Toast =
        event.type === 'OrderConfirmed'
          ? {
              id: event.eventId,
              tone: 'success',
              title: `Order ${event.data.orderNumber} confirmed`,
              body: `${customer}'s order was confirmed by the server.`,
              orderId,
            }
          : {
              id: event.eventId,
              tone: 'error',
              title: 'Order rejected',
              body: `${customer}'s order was rejected: ${event.data.reason}`,
              orderId,
            };
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
