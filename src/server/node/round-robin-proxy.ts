import { createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Logger, silentLogger } from './log';

/**
 * The small load balancer of `npm run start:cluster`: each request goes to the next server instance in turn,
 * and to the one after when an instance cannot be reached (killed, restarting). A development convenience
 * that shows instances are interchangeable; production puts a real load balancer in front (docs/server.md).
 *
 * A request is resent to another instance only when the first refused or dropped the connection before
 * answering; a push is idempotent, so even one that had been stored is answered `duplicate` the second time.
 */
export interface RoundRobinProxy {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

export interface RoundRobinProxyOptions {
  /** Origins of the instances, e.g. `http://127.0.0.1:41001`. */
  readonly targets: readonly string[];
  readonly port: number;
  readonly host: string;
  readonly logger?: Logger;
}

// Far above the server's own limit (it answers 413 itself); only a bound on what the proxy holds in memory.
const MAX_BUFFERED_BYTES = 32 * 1024 * 1024;

export async function startRoundRobinProxy(options: RoundRobinProxyOptions): Promise<RoundRobinProxy> {
  const log = options.logger ?? silentLogger;
  let next = 0;
  const server: Server = createServer((incoming, outgoing) => {
    void readBody(incoming).then((body) => {
      if (body === null) {
        outgoing.writeHead(413, { 'content-type': 'application/json; charset=utf-8' });
        outgoing.end(
          JSON.stringify({ error: { code: 'payload_too_large', message: 'The body is too large' } }),
        );
        return;
      }
      const first = next;
      next = (next + 1) % options.targets.length;
      const attempt = (tried: number): void => {
        const target = options.targets[(first + tried) % options.targets.length];
        if (target === undefined || tried >= options.targets.length) {
          outgoing.writeHead(502, { 'content-type': 'application/json; charset=utf-8', 'retry-after': '1' });
          outgoing.end(
            JSON.stringify({ error: { code: 'unavailable', message: 'No server instance answered' } }),
          );
          return;
        }
        const forwardedFor = [incoming.headers['x-forwarded-for'], incoming.socket.remoteAddress]
          .filter((part) => typeof part === 'string' && part !== '')
          .join(', ');
        const upstream = httpRequest(
          `${target}${incoming.url ?? '/'}`,
          {
            method: incoming.method,
            headers: {
              ...withoutHopByHop(incoming.headers),
              'x-forwarded-for': forwardedFor,
              'x-forwarded-proto': 'http',
              'x-forwarded-host': incoming.headers.host ?? '',
              'content-length': String(body.length),
            },
          },
          (answer) => {
            outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
            answer.pipe(outgoing);
          },
        );
        upstream.on('error', (error) => {
          if (outgoing.headersSent) {
            outgoing.destroy(error);
            return;
          }
          log({ level: 'warn', msg: 'instance unreachable, trying the next', target, error: error.message });
          attempt(tried + 1);
        });
        upstream.end(body);
      };
      attempt(0);
    });
  });
  const address = await new Promise<AddressInfo>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve(server.address() as AddressInfo));
  });
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  return {
    url: `http://${host}:${address.port}`,
    port: address.port,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** Headers that describe one connection, not the request: the proxy's own connection sets its own. */
function withoutHopByHop(headers: IncomingMessage['headers']): IncomingMessage['headers'] {
  const { connection: _c, 'keep-alive': _k, 'transfer-encoding': _t, upgrade: _u, ...rest } = headers;
  return rest;
}

function readBody(incoming: IncomingMessage): Promise<Buffer | null> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    incoming.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BUFFERED_BYTES) chunks.push(chunk);
    });
    incoming.on('end', () => resolve(size > MAX_BUFFERED_BYTES ? null : Buffer.concat(chunks)));
    incoming.on('error', () => resolve(null));
  });
}
