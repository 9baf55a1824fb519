import type { RequestHandler } from 'msw';
import type { Clock, IdGenerator } from '../ids';
import {
  createMemoryStorage,
  createSyncHandler,
  type FeedStorage,
  type ServerStorage,
  type SyncHandler,
} from '../server';
import type { AnyServerStreamType } from '../stream-type';
import type { StreamTypes } from '../stream-types';
import { createFaultControl, type FaultControl } from './faults';
import { createMockHandlers, respondWithFaults } from './handlers';

/** What a mock backend is made of; only the stream types, the clock and the ids are required. */
export interface MockBackendOptions {
  /** The stream types it serves, each with its server policy (`withServerPolicy`). */
  readonly streamTypes: StreamTypes<AnyServerStreamType>;
  readonly clock: Clock;
  readonly ids: IdGenerator;
  /** Shared with a UI that edits the faults; a fresh control without faults by default. */
  readonly faults?: FaultControl;
  /** In memory by default; the demo worker passes one restored from its IndexedDB snapshot. */
  readonly storage?: ServerStorage;
  /** The protocol's path; default '/api/sync'. */
  readonly basePath?: string;
  /** Where msw intercepts; default `basePath` on any origin. An absolute URL limits it to one origin. */
  readonly baseUrl?: string;
  readonly token?: string | null;
  /**
   * Whether the device's network is up, for a mock that runs inside the page or the worker (no request of
   * its `fetch` crosses a network the browser could cut): while it says false, `fetch` fails as the network
   * does. Always up by default.
   */
  readonly online?: () => boolean;
  /**
   * Whether it serves the feed extension (every device's events, docs/protocol.md "The feed") on its memory
   * storage; on by default. `false` makes a protocol v1 server, whose feed routes answer 404.
   */
  readonly feed?: boolean;
}

/** A mock sync server: its msw handlers, a `fetch` through its faults, its storage and its fault switches. */
export interface MockBackend {
  /** For `setupServer(...handlers)` (msw/node) and `getResponse(handlers, request)` in a service worker. */
  readonly handlers: RequestHandler[];
  readonly storage: ServerStorage;
  readonly faults: FaultControl;
  /** The protocol server without faults: to seed or inspect state behind the client's back. */
  readonly handle: SyncHandler;
  /**
   * A `fetch` through the faults without msw in between, for a transport inside the service worker (whose
   * own requests no worker intercepts). Network faults reject with a `TypeError`, as `fetch` does.
   */
  readonly fetch: (request: Request) => Promise<Response>;
}

/**
 * The backend the app talks to in tests and in the backend-less demo: the real protocol server on memory
 * storage, behind a fault control. Imports nothing Node- or DOM-specific, so it runs in a service worker.
 */
export function createMockBackend(options: MockBackendOptions): MockBackend {
  const storage = options.storage ?? createMemoryStorage();
  const faults = options.faults ?? createFaultControl();
  const basePath = options.basePath ?? '/api/sync';
  const feed = options.feed === false ? null : feedOf(storage);
  const handle = createSyncHandler({
    streamTypes: options.streamTypes,
    storage,
    clock: options.clock,
    ids: options.ids,
    basePath,
    token: options.token ?? null,
    feed,
  });
  const handlers = createMockHandlers({ handle, faults, baseUrl: options.baseUrl ?? basePath });
  return {
    handlers,
    storage,
    faults,
    handle,
    async fetch(request) {
      if (options.online && !options.online()) throw new TypeError('Failed to fetch (the device is offline)');
      const response = await respondWithFaults(request, faults, handle);
      if (response.type === 'error') throw new TypeError('Failed to fetch (injected network fault)');
      return response;
    },
  };
}

/** The feed of a storage that has one (the memory storage does). */
function feedOf(storage: ServerStorage): FeedStorage | null {
  const feed = (storage as ServerStorage & { feed?: FeedStorage }).feed;
  return feed ?? null;
}
