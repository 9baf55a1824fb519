import type { CreateWorkerBackend } from './backend';

/** Production: the sync API is the real server, reached over the network. */
export const createWorkerBackend: CreateWorkerBackend = async () => null;
