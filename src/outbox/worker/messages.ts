import * as v from 'valibot';
import { type WorkerReply, WorkerRequestSchema } from '../device/worker-messages';
import type { WorkerBackend } from './backend';
import type { WorkerSync } from './worker-sync';

/** What answering a page's message needs. */
export interface MessageDeps {
  readonly sync: WorkerSync;
  readonly backend: Promise<WorkerBackend | null>;
  /** Lets a waiting version of the worker activate. */
  readonly skipWaiting: () => Promise<void>;
}

const failure = (code: string, message: string): WorkerReply => ({ ok: false, error: { code, message } });

/** Answers a page's message on the MessagePort it sent along (if any); keeps the worker alive meanwhile. */
export function handleWorkerMessage(event: ExtendableMessageEvent, deps: MessageDeps): void {
  const port = event.ports[0];
  const reply = (answer: WorkerReply) => port?.postMessage(answer);
  const parsed = v.safeParse(WorkerRequestSchema, event.data);
  if (!parsed.success) {
    reply(failure('bad_message', 'The service worker does not understand this message'));
    return;
  }
  const request = parsed.output;
  const work = async (): Promise<WorkerReply> => {
    switch (request.type) {
      case 'skip-waiting':
        await deps.skipWaiting();
        return { ok: true, value: null };
      case 'sync-now':
        return { ok: true, value: await deps.sync.flush({ force: true, reasons: ['message'] }) };
      case 'demo:faults':
      case 'demo:server-state': {
        const backend = await deps.backend;
        const answer = backend?.handleMessage(request);
        if (!answer) return failure('not_demo', 'This build has no demo server');
        return { ok: true, value: await answer };
      }
      default: {
        const unknown: never = request;
        return failure('bad_message', `Unknown message ${JSON.stringify(unknown)}`);
      }
    }
  };
  event.waitUntil(
    work()
      .catch((error: unknown) => failure('failed', error instanceof Error ? error.message : String(error)))
      .then(reply),
  );
}
