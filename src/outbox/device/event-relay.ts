import type { StoredEvent } from '../storage/rows';

/**
 * What the sync engine and the coordinated flush need of a bus: a place to publish stored events and a way
 * to hear them for a while. The page's `EventBus` (rxjs, for its subscribers' operators) is one; the service
 * worker, whose only listener is its own flush collecting server events for the sync channel, takes
 * `createEventRelay()` and so carries no rxjs.
 */
export interface EventRelay {
  /** Hands each event to every listener, in order; call only after the transaction that stored them committed. */
  publish(events: readonly StoredEvent[]): void;
  readonly events$: {
    subscribe(listener: (event: StoredEvent) => void): { unsubscribe(): void };
  };
}

export function createEventRelay(): EventRelay {
  const listeners = new Set<(event: StoredEvent) => void>();
  return {
    publish(events) {
      for (const event of events) {
        for (const listener of [...listeners]) {
          try {
            listener(event);
          } catch (error) {
            // As the page's bus does: a throwing listener is reported apart and cannot stop the writer.
            setTimeout(() => {
              throw error;
            });
          }
        }
      }
    },
    events$: {
      subscribe(listener) {
        const own = (event: StoredEvent) => listener(event);
        listeners.add(own);
        return { unsubscribe: () => listeners.delete(own) };
      },
    },
  };
}
