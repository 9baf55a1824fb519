import { Queue } from 'workbox-background-sync';

/**
 * Workbox Background Sync as an app would use it, for the heal-to-drained reference: a Queue whose default
 * `onSync` replays on every `sync` event the browser fires, and re-registers when a replay fails. Filled by
 * the page (pushRequest registers the sync); nothing else triggers a replay.
 */

interface ExtendableEventLike extends Event {
  waitUntil(promise: Promise<unknown>): void;
}
interface MessageEventLike extends ExtendableEventLike {
  readonly data: { type: 'fill'; url: string; bodies: string[] };
  readonly ports: readonly MessagePort[];
}
interface WorkerScope {
  addEventListener(type: 'install' | 'activate', listener: (event: ExtendableEventLike) => void): void;
  addEventListener(type: 'message', listener: (event: MessageEventLike) => void): void;
  skipWaiting(): Promise<void>;
  readonly clients: { claim(): Promise<void> };
}

const scope = self as unknown as WorkerScope;
const queue = new Queue('outpost-heal');

scope.addEventListener('install', (event) => event.waitUntil(scope.skipWaiting()));
scope.addEventListener('activate', (event) => event.waitUntil(scope.clients.claim()));
scope.addEventListener('message', (event) => {
  const port = event.ports[0];
  event.waitUntil(
    (async () => {
      try {
        for (const body of event.data.bodies) {
          const request = new Request(event.data.url, {
            method: 'POST',
            headers: { 'Content-Type': 'application/json', 'Idempotency-Key': crypto.randomUUID() },
            body,
          });
          await queue.pushRequest({ request });
        }
        port?.postMessage({ ok: true, size: await queue.size() });
      } catch (error) {
        port?.postMessage({ ok: false, error: String(error) });
      }
    })(),
  );
});
