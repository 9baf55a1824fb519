/// <reference lib="webworker" />

/**
 * The app shell's precache: every built file cached on install, served from the cache afterwards, and
 * what a new version no longer lists deleted once it activates. It keeps what Workbox's `precacheAndRoute`
 * and `cleanupOutdatedCaches` kept, in their cache and under their keys (a worker updated from one that used
 * Workbox fetches only what changed), without the strategy, plugin and router layers that made Workbox
 * about 5 kB of the worker's gzip size (docs/performance.md, figure 8). Integrity entries and `CACHE_URLS`
 * messages are left out: the build emits neither and no page sends one.
 */

/**
 * An entry of the build's precache manifest (`self.__WB_MANIFEST`): a hashed file's revision is null; the dev
 * server's manifest (`index.html` alone) has none.
 */
export interface PrecacheEntry {
  readonly url: string;
  readonly revision?: string | null;
}

export interface Precache {
  /** The cached response of a precached URL (relative to the worker), if the cache holds it. */
  match(url: string): Promise<Response | undefined>;
  /**
   * The answer to a request for a precached file: the cached response, or the network's when the cache
   * lost it. Undefined for anything else, which the browser fetches as usual.
   */
  respond(request: Request): Promise<Response> | undefined;
}

/** Workbox's marker of a revisioned file's cache key. */
const REVISION_PARAM = '__WB_REVISION__';
/** Query parameters a link may add that never change the file (Workbox's defaults). */
const IGNORED_PARAMS = [/^utm_/, /^fbclid$/];

/** Listens for install and activate on `scope` and returns the precache's lookups. */
export function registerPrecache(
  scope: ServiceWorkerGlobalScope,
  entries: readonly PrecacheEntry[],
): Precache {
  // Workbox's name for the precache of this registration, so an updated worker finds what the last one cached.
  const cacheName = `workbox-precache-v2-${scope.registration.scope}`;
  const keyOf = new Map<string, string>();
  for (const { url, revision } of entries) {
    const key = new URL(url, scope.location.href);
    const href = key.href;
    if (revision) key.searchParams.set(REVISION_PARAM, revision);
    keyOf.set(href, key.href);
  }

  const install = async () => {
    const cache = await scope.caches.open(cacheName);
    // One file at a time, as Workbox does; one already cached under its key (unchanged since the last version) is kept.
    for (const [url, key] of keyOf) {
      if (await cache.match(key)) continue;
      // A revisioned file (index.html, icons) bypasses the HTTP cache, which may hold the previous version.
      const response = await fetch(
        new Request(url, { cache: key === url ? 'default' : 'reload', credentials: 'same-origin' }),
      );
      // A failed file fails the install: the browser keeps the old worker and tries the update again later.
      if (response.status >= 400) throw new Error(`precaching ${url} failed with HTTP ${response.status}`);
      await cache.put(key, response.redirected ? await unredirected(response) : response);
    }
  };

  const activate = async () => {
    const cache = await scope.caches.open(cacheName);
    const kept = new Set(keyOf.values());
    for (const request of await cache.keys()) {
      if (!kept.has(request.url)) await cache.delete(request);
    }
    // Precaches of this scope under an older Workbox format.
    const outdated = (await scope.caches.keys()).filter(
      (name) => name.includes('-precache-') && name.includes(scope.registration.scope) && name !== cacheName,
    );
    await Promise.all(outdated.map((name) => scope.caches.delete(name)));
  };

  scope.addEventListener('install', (event) => event.waitUntil(install()));
  scope.addEventListener('activate', (event) => event.waitUntil(activate()));

  const match = async (url: string): Promise<Response | undefined> => {
    const key = keyOf.get(new URL(url, scope.location.href).href);
    return key === undefined ? undefined : (await scope.caches.open(cacheName)).match(key);
  };

  return {
    match,
    respond(request) {
      if (request.method !== 'GET') return undefined;
      const url = precachedUrl(request.url, keyOf);
      return url === undefined ? undefined : match(url).then((cached) => cached ?? fetch(request));
    },
  };
}

/** The precached URL a request asks for, tried as Workbox does: as it is, without tracking parameters, `/` as `/index.html`, and with `.html`. */
function precachedUrl(requested: string, keyOf: ReadonlyMap<string, string>): string | undefined {
  const url = new URL(requested);
  url.hash = '';
  const asIs = url.href;
  for (const name of [...url.searchParams.keys()]) {
    if (IGNORED_PARAMS.some((pattern) => pattern.test(name))) url.searchParams.delete(name);
  }
  const candidates = [asIs, url.href];
  if (url.pathname.endsWith('/')) {
    const index = new URL(url.href);
    index.pathname += 'index.html';
    candidates.push(index.href);
  }
  const clean = new URL(url.href);
  clean.pathname += '.html';
  candidates.push(clean.href);
  return candidates.find((candidate) => keyOf.has(candidate));
}

/** A redirected response cannot answer a navigation: the same body, status and headers, not marked redirected. */
async function unredirected(response: Response): Promise<Response> {
  return new Response(await response.blob(), {
    status: response.status,
    statusText: response.statusText,
    headers: response.headers,
  });
}
