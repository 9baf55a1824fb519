import { BehaviorSubject, type Observable } from 'rxjs';
import * as v from 'valibot';
import { type WorkerReply, WorkerReplySchema, type WorkerRequest } from '../device/worker-messages';

/**
 * Registers the service worker and turns its life cycle into what the UI needs: "a new version waits"
 * (update$) and "accept it" (applyUpdate: the waiting worker skips waiting, the page reloads once the new
 * worker controls it). The outbox lives in IndexedDB, not in the worker, so swapping workers loses nothing.
 */
export interface WorkerHandle {
  /** Resolves once a worker is active for this page (never, where service workers are unavailable). */
  readonly registration: Promise<ServiceWorkerRegistration>;
  /** True while a new version waits behind the worker controlling the page; a first install is not one. */
  readonly update$: Observable<boolean>;
  /** Lets the waiting worker take over; the page reloads once it controls it. */
  applyUpdate(): void;
  /** Sends a message to the active worker and resolves with its answer. */
  request(message: WorkerRequest): Promise<unknown>;
}

/** The service worker could not answer a page's message (none controls the page, or it refused). */
export class WorkerRequestError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'WorkerRequestError';
  }
}

export function workerScriptUrl(dev: boolean): { url: string; type: WorkerType } {
  // vite-plugin-pwa serves the TypeScript worker as an ES module at this path in `vite` dev.
  return dev ? { url: '/dev-sw.js?dev-sw', type: 'module' } : { url: '/sw.js', type: 'classic' };
}

/** How `registerWorker` finds the worker script; every field has a default that suits a production build. */
export interface RegisterWorkerOptions {
  /** The worker script's URL; `/sw.js` (a classic script) by default, Vite's module in dev. */
  readonly url?: string;
  /** `classic` or `module`; must match how the script at `url` was built, or the registration fails. */
  readonly type?: WorkerType;
  /** Served by `vite` in dev (vite-plugin-pwa's URL for the TypeScript worker). */
  readonly dev?: boolean;
  /** What accepting an update does once the new worker controls the page; a reload by default. */
  readonly reload?: () => void;
}

/**
 * Registers the service worker for the whole origin (scope `/`) and reports its updates; where service
 * workers are unavailable, a handle whose registration never resolves and whose requests fail.
 */
export function registerWorker(options: RegisterWorkerOptions = {}): WorkerHandle {
  const update$ = new BehaviorSubject<boolean>(false);
  const reload = options.reload ?? (() => location.reload());
  if (!('serviceWorker' in navigator)) {
    return {
      registration: new Promise<ServiceWorkerRegistration>(() => undefined),
      update$,
      applyUpdate: () => undefined,
      request: async () => {
        throw new WorkerRequestError('no_worker', 'Service workers are not available in this browser');
      },
    };
  }
  const container = navigator.serviceWorker;
  const script = workerScriptUrl(options.dev ?? false);
  const url = options.url ?? script.url;
  const type = options.type ?? script.type;
  let registration: ServiceWorkerRegistration | null = null;

  const watch = (reg: ServiceWorkerRegistration) => {
    registration = reg;
    // Only a worker waiting while another controls the page is an update; the very first install is not.
    const refresh = () => update$.next(reg.waiting !== null && container.controller !== null);
    refresh();
    reg.addEventListener('updatefound', () => {
      reg.installing?.addEventListener('statechange', refresh);
    });
  };

  let acceptedUpdate = false;
  container.addEventListener('controllerchange', () => {
    // Reload only when the person asked for the update: the first install's claim() must not reload.
    if (acceptedUpdate) reload();
  });

  void container
    .register(url, { type, scope: '/' })
    .then(watch)
    .catch((error: unknown) => console.warn('[outpost] service worker registration failed', error));

  const request = async (message: WorkerRequest): Promise<unknown> => {
    const ready = await container.ready;
    const target = container.controller ?? ready.active;
    if (!target) throw new WorkerRequestError('no_worker', 'No active service worker');
    const channel = new MessageChannel();
    const answer = new Promise<WorkerReply>((resolve) => {
      channel.port1.onmessage = (event) => {
        const parsed = v.safeParse(WorkerReplySchema, event.data);
        resolve(
          parsed.success
            ? parsed.output
            : { ok: false, error: { code: 'bad_reply', message: 'Unreadable answer from the worker' } },
        );
      };
    });
    target.postMessage(message, [channel.port2]);
    const reply = await answer;
    channel.port1.close();
    if (!reply.ok) throw new WorkerRequestError(reply.error.code, reply.error.message);
    return reply.value;
  };

  return {
    registration: container.ready,
    update$,
    applyUpdate() {
      const waiting = registration?.waiting;
      if (!waiting) return;
      acceptedUpdate = true;
      waiting.postMessage({ type: 'skip-waiting' } satisfies WorkerRequest);
    },
    request,
  };
}
