/**
 * One message as a consumer receives it from the broker (a JetStream durable pull consumer in the reference
 * server), with the broker's acknowledgements. The runtime acknowledges only after its effect committed.
 */
export interface Delivery {
  readonly subject: string;
  readonly body: string;
  /** The message id the relay published it under (the eventId); undefined when a producer set none. */
  readonly messageId: string | undefined;
  /** The stream's owner the relay sent along (AUTH=users); null when none. */
  readonly owner: string | null;
  /**
   * Its number in its stream (`OutboxRow.streamSeq`): the runtime applies a stream's events in this order.
   * Null for a message published without one, applied whenever it comes.
   */
  readonly streamSeq: number | null;
  /** 1 on the first delivery, counted by the broker. */
  readonly deliveryCount: number;
  /** Its position in the broker's stream: names a message that has no readable id. */
  readonly sequence: number;
  /** When the broker stored it (ms). */
  readonly storedAt: number;
  /** Acknowledges (fire and forget). */
  ack(): void;
  /**
   * Acknowledges, and resolves once the broker confirmed it (double ack). The broker handles one connection's
   * acknowledgements in order, so the confirmation of a batch's last one covers those sent before it.
   */
  ackConfirmed(): Promise<void>;
  /** Asks for a redelivery after `delayMs`. */
  retry(delayMs: number): void;
  /** Never delivers it to this consumer again. */
  terminate(reason: string): void;
}

/** The messages of one durable consumer, as they arrive; ends when `stop()` is called. */
export interface DeliverySource {
  readonly messages: AsyncIterable<Delivery>;
  /** Ends `messages` and releases the subscription; what was not acknowledged is delivered again later. */
  stop(): Promise<void>;
  /**
   * When the broker stored the oldest message this consumer has not acknowledged (ms), null when it has
   * acknowledged every one; rejects when the broker cannot say. Every message delivered from now on, a
   * redelivery as well as a new one, was stored at that moment or later: the inbox's pruning counts from it.
   */
  oldestUnacknowledgedAt(): Promise<number | null>;
}
