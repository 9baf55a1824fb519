/**
 * What the transport knows about a request that a web `Request` does not carry (the peer's address), and
 * how far forwarded headers may be believed. The rules that use it (rate limits per address, the origin
 * check, the cookie's Secure flag) live in the core; the runtime only hands over the socket's address.
 */

/** Facts from the socket, passed next to the request by whoever received it. */
export interface Peer {
  readonly remoteAddress: string | null;
}

/** How to read a request's origin and client address; `directConnection` or `behindProxies(hops)`. */
export interface Connection {
  /** The client's address, as far as it can be known: what per-address rate limits count. */
  clientAddress(request: Request, peer: Peer | undefined): string;
  /** The origin the client used to reach this server (`https://shop.example.com`), proxies included. */
  publicOrigin(request: Request): string;
}

/** Clients connect straight to this server: the socket is the client, forwarded headers are ignored. */
export const directConnection: Connection = {
  clientAddress: (_request, peer) => peer?.remoteAddress ?? 'unknown',
  publicOrigin: (request) => new URL(request.url).origin,
};

/**
 * Behind `hops` reverse proxies that each append the address they saw to `X-Forwarded-For`. The client's
 * address is the entry `hops` places from the right: entries further left were written by whoever sent the
 * request and may be forged, so they are never believed. Scheme and host come from the outermost proxy's
 * `X-Forwarded-Proto` and `X-Forwarded-Host` (the first value of each), which it sets for this purpose.
 */
export function behindProxies(hops: number): Connection {
  if (!Number.isSafeInteger(hops) || hops < 1) throw new RangeError('hops must be a whole number ≥ 1');
  return {
    clientAddress(request, peer) {
      const forwarded = (request.headers.get('x-forwarded-for') ?? '')
        .split(',')
        .map((entry) => entry.trim())
        .filter((entry) => entry !== '');
      const chain = [...forwarded, peer?.remoteAddress ?? 'unknown'];
      return chain[Math.max(0, chain.length - 1 - hops)] ?? 'unknown';
    },
    publicOrigin(request) {
      const url = new URL(request.url);
      const first = (name: string): string | undefined =>
        request.headers.get(name)?.split(',')[0]?.trim().toLowerCase() || undefined;
      const proto = first('x-forwarded-proto');
      const scheme = proto === 'https' || proto === 'http' ? proto : url.protocol.slice(0, -1);
      const host = first('x-forwarded-host') ?? url.host;
      try {
        // Through URL, as a browser writes an Origin: lowercase, without a default port (`:443`).
        return new URL(`${scheme}://${host}`).origin;
      } catch {
        return url.origin;
      }
    },
  };
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Refuses what a browser sends on behalf of another site: a state-changing request whose `Origin` is
 * neither this server's public origin nor one of `allowed` (CORS_ORIGIN; `*` allows any). A request with
 * no `Origin` is not a cross-site browser request (browsers send one on every POST), so it is left to its
 * credentials. Answers true when the request must be refused.
 */
export function createOriginCheck(
  connection: Connection,
  allowed: readonly string[] = [],
): (request: Request) => boolean {
  const anyOrigin = allowed.includes('*');
  return (request) => {
    if (SAFE_METHODS.has(request.method.toUpperCase()) || anyOrigin) return false;
    const origin = request.headers.get('origin');
    if (origin === null) return false;
    return origin !== connection.publicOrigin(request) && !allowed.includes(origin);
  };
}
