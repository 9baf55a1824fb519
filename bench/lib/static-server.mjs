import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import http from 'node:http';
import { extname, join, normalize, sep } from 'node:path';

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.webmanifest': 'application/manifest+json',
  '.png': 'image/png',
};

/**
 * Serves the bundled bench pages and forwards `/api/` to the reference server, so the page, its service
 * worker and the sync endpoint share one origin (no CORS preflight inflating every POST).
 * Forwarding costs well under a millisecond per request on loopback and every drain variant pays it alike.
 *
 * `roots` are tried in order for each file (the heal figure serves the production app first and the bench
 * page's files after it: their asset names are hashed and never collide); `aliases` map a path to one file
 * (the bench page's index.html under a path of its own). `faults.outage`, while true, drops
 * every connection to the sync API before it is forwarded: the server is unreachable, the browser online.
 */
export async function startStaticServer({
  root,
  roots = [root],
  aliases = {},
  apiTarget,
  faults = { outage: false },
}) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (url.pathname.startsWith('/api/sync/') && faults.outage) {
      req.socket.destroy();
      return;
    }
    if (url.pathname.startsWith('/api/')) {
      if (!apiTarget) {
        res.writeHead(503, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { code: 'no_server', message: 'reference server not running' } }));
        return;
      }
      const upstream = http.request(
        {
          host: apiTarget.host,
          port: apiTarget.port,
          method: req.method,
          path: req.url,
          headers: req.headers,
          agent,
        },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      upstream.on('error', (error) => {
        res.writeHead(502, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { code: 'bad_gateway', message: String(error) } }));
      });
      req.pipe(upstream);
      return;
    }
    const alias = aliases[url.pathname];
    const relative = url.pathname === '/' ? 'index.html' : decodeURIComponent(url.pathname);
    const candidates = alias ? [alias] : roots.map((dir) => normalize(join(dir, relative)));
    if (!alias && candidates.some((path, i) => !path.startsWith(roots[i] + sep) && path !== roots[i])) {
      res.writeHead(403).end();
      return;
    }
    const serve = (index) => {
      const path = candidates[index];
      if (path === undefined) {
        res.writeHead(404).end('not found');
        return;
      }
      stat(path).then(
        (info) => {
          if (!info.isFile()) throw new Error('not a file');
          res.writeHead(200, {
            'content-type': TYPES[extname(path)] ?? 'application/octet-stream',
            'cache-control': 'no-store',
          });
          createReadStream(path).pipe(res);
        },
        () => serve(index + 1),
      );
    };
    serve(0);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('static server has no port');
  return {
    origin: `http://127.0.0.1:${address.port}`,
    close: () =>
      new Promise((resolve) => {
        agent.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
