/**
 * What the worker needs from "a server living inside the worker", when an app has one. Production builds
 * have none (requests go to the network); the app's demo build answers the sync API with its mock. The app
 * picks the implementation (src/sw/backend/); the core only speaks to this port.
 */
export interface WorkerBackend {
  /** The fetch the worker's own sync engine uses (requests made by a worker never reach a fetch handler). */
  readonly transport: typeof fetch;
  /** Answers a page's request to the sync API. */
  respond(request: Request): Promise<Response>;
  /** Answers a `demo:*` message from a page; null when the message is not one this backend serves. */
  handleMessage(message: {
    readonly type: string;
    readonly settings?: Record<string, unknown>;
  }): Promise<unknown> | null;
}
