import { Queue } from 'workbox-background-sync';

/**
 * The Workbox Background Sync baseline: Workbox's own Queue in a service worker. The page fills it (untimed)
 * and asks for one timed `replayRequests()`; Workbox's automatic replay on `sync` is switched off so only
 * the timed replay sends.
 */

interface ExtendableEventLike extends Event {
  waitUntil(promise: Promise<unknown>): void;
}
interface MessageEventLike extends ExtendableEventLike {
  readonly data: { type: 'fill'; url: string; bodies: string[] } | { type: 'replay' };
  readonly ports: readonly MessagePort[];
}
interface WorkerScope {
  addEventListener(type: 'install' | 'activate', listener: (event: ExtendableEventLike) => void): void;
  addEventListener(type: 'message', listener: (event: MessageEventLike) => void): void;
  skipWaiting(): Promise<void>;
  readonly clients: { claim(): Promise<void> };
}

const scope = self as unknown as WorkerScope;
const queue = new Queue('outpost-bench', { onSync: async () => {} });

scope.addEventListener('install', (event) => event.waitUntil(scope.skipWaiting()));
scope.addEventListener('activate', (event) => event.waitUntil(scope.clients.claim()));
scope.addEventListener('message', (event) => {
  const port = event.ports[0];
  const message = event.data;
  event.waitUntil(
    (async () => {
      try {
        if (message.type === 'fill') {
          for (const body of message.bodies) {
            const request = new Request(message.url, {
              method: 'POST',
              headers: { 'Content-Type': 'application/json', 'Idempotency-Key': crypto.randomUUID() },
              body,
            });
            await queue.pushRequest({ request });
          }
          port?.postMessage({ ok: true, size: await queue.size() });
        } else {
          const start = performance.now();
          await queue.replayRequests();
          const ms = performance.now() - start;
          port?.postMessage({ ok: true, ms, left: await queue.size() });
        }
      } catch (error) {
        port?.postMessage({ ok: false, error: String(error) });
      }
    })(),
  );
});
