import { createReadStream, existsSync, readFileSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize } from 'node:path';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.webmanifest': 'application/manifest+json',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.ico': 'image/x-icon',
};

export interface StaticServer {
  readonly url: string;
  /** Appends a comment to every sw.js served from now on: the browser sees a new worker version. */
  bumpWorkerVersion(label: string): void;
  close(): Promise<void>;
}

/**
 * Serves a built app on 127.0.0.1 (a secure context, so service workers register) on a free port, with
 * the SPA fallback: unknown paths without an extension get index.html. Nothing else: in demo builds the
 * sync API is answered inside the service worker, so this server never sees it.
 */
export async function serveStatic(dir: string): Promise<StaticServer> {
  let workerSuffix = '';
  const server: Server = createServer((request, response) => {
    const path = decodeURIComponent(new URL(request.url ?? '/', 'http://x').pathname);
    let file = normalize(join(dir, path));
    if (!file.startsWith(dir)) {
      response.writeHead(403).end();
      return;
    }
    if (!existsSync(file) || statSync(file).isDirectory()) {
      if (extname(path) !== '') {
        response.writeHead(404).end();
        return;
      }
      file = join(dir, 'index.html');
    }
    response.writeHead(200, {
      'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream',
      // The worker script must be revalidated so a new build is seen as an update.
      'Cache-Control': file.endsWith('sw.js') || file.endsWith('.html') ? 'no-cache' : 'max-age=3600',
    });
    if (workerSuffix !== '' && file === join(dir, 'sw.js')) {
      response.end(`${readFileSync(file, 'utf8')}\n${workerSuffix}\n`);
      return;
    }
    createReadStream(file).pipe(response);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    bumpWorkerVersion(label) {
      workerSuffix = `// ${label}`;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
