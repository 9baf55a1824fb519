import { type Observable, Subject } from 'rxjs';
import type { StoredEvent } from '../storage/rows';

/**
 * In-page fan-out of stored events to subscribers (notifications). Writers publish only after
 * their transaction committed, so a subscriber never sees an event that was rolled back. It is not durable:
 * anything that must not miss an event reads the event store instead.
 */
export class EventBus {
  private readonly subject = new Subject<StoredEvent>();
  readonly events$: Observable<StoredEvent> = this.subject.asObservable();

  /** Hands each event to every subscriber, in order; call only after the transaction that stored them committed. */
  publish(events: readonly StoredEvent[]): void {
    // RxJS 7 reports a throwing subscriber asynchronously, so one bad subscriber cannot stop the writer.
    for (const event of events) this.subject.next(event);
  }
}
