import type { Clock, IdGenerator } from '../../outbox';
import type { WorkerBackend } from '../../outbox/worker';

export type { WorkerBackend };

export interface WorkerBackendOptions {
  /** Absolute URL of the sync API the mock answers. */
  readonly endpoint: string;
  readonly clock: Clock;
  readonly ids: IdGenerator;
  /** Whether the worker's network is up; the mock fails like the network when it is not. */
  readonly isOnline: () => boolean;
}

export type CreateWorkerBackend = (options: WorkerBackendOptions) => Promise<WorkerBackend | null>;
