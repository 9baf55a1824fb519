import type { Clock, IdGenerator } from '../../outbox/ids';

/**
 * What the worker needs from "a server living inside the worker". Production builds have none (requests go
 * to the network); demo builds answer the sync API with the mock backend. vite.config.ts picks the module
 * behind the `#sw-backend` alias at build time.
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

export interface WorkerBackendOptions {
  /** Absolute URL of the sync API the mock answers. */
  readonly endpoint: string;
  readonly clock: Clock;
  readonly ids: IdGenerator;
  /** Whether the worker's network is up; the mock fails like the network when it is not. */
  readonly isOnline: () => boolean;
}

export type CreateWorkerBackend = (options: WorkerBackendOptions) => Promise<WorkerBackend | null>;
