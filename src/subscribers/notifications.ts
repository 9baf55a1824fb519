import { BehaviorSubject, filter, mergeMap, type Observable } from 'rxjs';
import type { OrderSummary } from '../orders/read-models';
import { orderEventOf } from '../orders/stored-events';
import { type OutpostDb, readModelTable, type StoredEvent } from '../outbox/page';
import { countEventOf } from '../stockcount/stored-events';

/**
 * Tells the person when the server decided one of their orders or stock counts: an in-app toast always, and
 * a system notification when they granted permission (the app may be in a background tab when the answer
 * arrives through a sync they did not start).
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
  readonly system?: SystemNotifier | null;
  /** How many toasts stay on screen; the oldest goes first. */
  readonly maxToasts?: number;
}

export interface NotificationService {
  readonly toasts$: Observable<readonly Toast[]>;
  dismiss(id: string): void;
  stop(): void;
}

/**
 * The toast for a server decision, or null for any other event. Each stream type's decisions are worded
 * here, from the event and the stream's read model (a name the person recognises).
 */
async function toastOf(event: StoredEvent, db: OutpostDb): Promise<Toast | null> {
  if (event.kind !== 'server') return null;
  const order = orderEventOf(event);
  if (order?.kind === 'server') {
    const orderId = event.streamId.replace(/^order-/, '');
    const summary = await readModelTable<OrderSummary>(db, 'orders').get(orderId);
    const customer = summary?.customerName ?? 'An order';
    const link = { id: event.eventId, href: `#/orders/${orderId}`, linkLabel: 'Open order' };
    return order.type === 'OrderConfirmed'
      ? {
          ...link,
          tone: 'success',
          title: `Order ${order.data.orderNumber} confirmed`,
          body: `${customer}'s order was confirmed by the server.`,
        }
      : {
          ...link,
          tone: 'error',
          title: 'Order rejected',
          body: `${customer}'s order was rejected: ${order.data.reason}`,
        };
  }
  const count = countEventOf(event);
  if (count?.kind === 'server') {
    const countId = event.streamId.replace(/^stockcount-/, '');
    const link = { id: event.eventId, href: `#/counts/${countId}`, linkLabel: 'Open count' };
    return count.type === 'CountAccepted'
      ? {
          ...link,
          tone: 'success',
          title: `Count ${count.data.countNumber} accepted`,
          body: 'The stock count was accepted by the server.',
        }
      : {
          ...link,
          tone: 'error',
          title: 'Stock count rejected',
          body: count.data.reason,
        };
  }
  return null;
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
  const subscription = deps.bus.events$
    .pipe(
      filter((event) => event.kind === 'server'),
      mergeMap((event) => toastOf(event, deps.db)),
      filter((toast): toast is Toast => toast !== null),
    )
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
