import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  request,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { seededRandom } from '../../../src/outbox/mock/faults';

/**
 * A fault-injecting HTTP proxy in front of a real reference server. Everything goes through it (app shell,
 * assets, sw.js, the API), so the browser's origin is the proxy's and the app cannot tell it apart from the
 * server. Faults hit only the two sync requests (`POST /api/sync/push`, `GET /api/sync/pull`), except
 * `outage`, which makes the whole server unreachable while the browser still believes it is online.
 *
 * Decisions come from a seeded generator, so a seed replays the same sequence of faults for the same sequence
 * of requests (the browser's own timing still decides which request meets which fault).
 */

export type RefuseKind = '503' | 'drop';

export interface Faults {
  /** Share of sync requests refused before they reach the server: nothing is stored. */
  readonly refuseRate: number;
  /** How a refusal looks, drawn evenly: `503` with `Retry-After: 1`, or the socket destroyed unanswered. */
  readonly refuseKinds: readonly RefuseKind[];
  /** Share of forwarded sync requests whose answer is lost: the server stored the batch, the client hears none. */
  readonly ackLossRate: number;
  /** Share of sync requests answered `200 text/html` by a Wi-Fi login page (a captive portal). */
  readonly captivePortalRate: number;
  /** Share of sync requests answered `429` with `Retry-After: 2`. */
  readonly rateLimitRate: number;
  /** Every connection on every path destroyed at once: the server is unreachable, the browser stays online. */
  readonly outage: boolean;
  /** Pushes are forwarded and stored, their answers kept until `releaseHeld()`: a push in flight on demand. */
  readonly holdPushes: boolean;
}

export const HEALTHY: Faults = {
  refuseRate: 0,
  refuseKinds: ['503', 'drop'],
  ackLossRate: 0,
  captivePortalRate: 0,
  rateLimitRate: 0,
  outage: false,
  holdPushes: false,
};

export type FaultKind =
  | 'forwarded'
  | 'refused-503'
  | 'dropped'
  | 'captive-portal'
  | 'rate-limited'
  | 'answer-lost'
  | 'held'
  | 'outage';

export interface ProxyLogEntry {
  /** ms since the proxy started */
  readonly at: number;
  readonly method: string;
  readonly path: string;
  readonly fault: FaultKind;
  /** The server's status when the request reached it. */
  readonly upstreamStatus: number | null;
}

export interface ProxyCounters {
  readonly pushes: number;
  readonly pulls: number;
  /** Sync requests that reached the server (answered, lost or held). */
  readonly forwarded: number;
  readonly refused503: number;
  readonly dropped: number;
  readonly captivePortal: number;
  readonly rateLimited: number;
  readonly answersLost: number;
  readonly held: number;
  /** Connections or requests destroyed by an outage, on any path. */
  readonly outageKills: number;
}

export interface FaultProxy {
  /** e.g. http://127.0.0.1:41234: the origin the browser opens. */
  readonly origin: string;
  faults(): Faults;
  /** Changes some switches; the others keep their values. Outage destroys every open connection at once. */
  set(faults: Partial<Faults>): void;
  /** Every fault off, held answers sent. */
  heal(): void;
  /** Resolves once at least one push answer is held (the server has stored that batch). */
  whenPushHeld(timeoutMs?: number): Promise<void>;
  /** Sends the held answers; resolves how many there were. */
  releaseHeld(): number;
  counters(): ProxyCounters;
  log(): readonly ProxyLogEntry[];
  /** One line for a test message: every counter. */
  summary(): string;
  close(): Promise<void>;
}

export interface FaultProxyOptions {
  /** The server's origin, e.g. `ReferenceServer.origin`. */
  readonly upstream: string;
  readonly seed: number;
  readonly faults?: Partial<Faults>;
}

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

function endToEnd(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  const kept: IncomingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (!HOP_BY_HOP.has(name)) kept[name] = value;
  }
  return kept;
}

function validate(faults: Faults): void {
  const rates = [faults.refuseRate, faults.ackLossRate, faults.captivePortalRate, faults.rateLimitRate];
  if (rates.some((rate) => !(rate >= 0 && rate <= 1))) throw new Error(`rates must be in [0, 1]: ${rates}`);
  // One draw picks at most one answer-replacing fault, so their shares must fit in one.
  if (faults.refuseRate + faults.captivePortalRate + faults.rateLimitRate > 1) {
    throw new Error('refuseRate + captivePortalRate + rateLimitRate must not exceed 1');
  }
  if (faults.refuseRate > 0 && faults.refuseKinds.length === 0) throw new Error('refuseKinds is empty');
}

const CAPTIVE_PORTAL_PAGE =
  '<!doctype html><html><head><title>Guest Wi-Fi</title></head><body><h1>Welcome to Guest Wi-Fi</h1>' +
  '<form action="/login" method="post"><label>Room number <input name="room"></label>' +
  '<button>Accept terms and connect</button></form></body></html>';

interface Held {
  readonly send: () => void;
}

export async function startFaultProxy(options: FaultProxyOptions): Promise<FaultProxy> {
  const upstream = new URL(options.upstream);
  const random = seededRandom(options.seed);
  const started = Date.now();
  let faults: Faults = { ...HEALTHY, ...options.faults };
  validate(faults);
  const counts = {
    pushes: 0,
    pulls: 0,
    forwarded: 0,
    refused503: 0,
    dropped: 0,
    captivePortal: 0,
    rateLimited: 0,
    answersLost: 0,
    held: 0,
    outageKills: 0,
  };
  const entries: ProxyLogEntry[] = [];
  const sockets = new Set<Socket>();
  const held = new Set<Held>();
  let heldWaiters: (() => void)[] = [];

  const record = (req: IncomingMessage, fault: FaultKind, upstreamStatus: number | null = null) => {
    entries.push({
      at: Date.now() - started,
      method: req.method ?? '?',
      path: req.url ?? '?',
      fault,
      upstreamStatus,
    });
  };

  const kill = (socket: Socket) => {
    counts.outageKills += 1;
    socket.destroy();
  };

  /** Answers after the request body has been read, so the connection is left in a sane state. */
  const answer = (
    req: IncomingMessage,
    res: ServerResponse,
    status: number,
    headers: Record<string, string>,
    body: string,
  ) => {
    req.resume();
    req.once('end', () => {
      res.writeHead(status, { 'Content-Length': String(Buffer.byteLength(body)), ...headers });
      res.end(body);
    });
  };

  /** The protocol's "overloaded" answers: an error body and a `Retry-After` in seconds. */
  const busy = (
    req: IncomingMessage,
    res: ServerResponse,
    status: 429 | 503,
    retryAfterSeconds: number,
    code: string,
    message: string,
  ) =>
    answer(
      req,
      res,
      status,
      { 'Content-Type': 'application/json', 'Retry-After': String(retryAfterSeconds) },
      JSON.stringify({ error: { code, message } }),
    );

  /** Forwards to the server; `onAnswer` gets the whole answer when it is to be held or lost, not streamed. */
  const forward = (
    req: IncomingMessage,
    res: ServerResponse,
    onAnswer?: (status: number, headers: IncomingHttpHeaders, body: Buffer) => void,
  ) => {
    const outgoing = request(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        // As a reverse proxy in front of the server: the browser's Host and scheme go on in the forwarded
        // headers, so a server started behind it (TRUST_PROXY=1) knows its public origin and accepts the
        // app's own POSTs (a cross-site Origin is refused).
        headers: {
          ...endToEnd(req.headers),
          host: upstream.host,
          'x-forwarded-host': req.headers.host ?? upstream.host,
          'x-forwarded-proto': 'http',
          'x-forwarded-for': [req.headers['x-forwarded-for'], req.socket.remoteAddress]
            .filter((part): part is string => typeof part === 'string' && part !== '')
            .join(', '),
        },
      },
      (upstreamRes) => {
        const status = upstreamRes.statusCode ?? 502;
        const headers = endToEnd(upstreamRes.headers);
        if (!onAnswer) {
          res.writeHead(status, headers);
          upstreamRes.pipe(res);
          return;
        }
        const chunks: Buffer[] = [];
        upstreamRes.on('data', (chunk: Buffer) => chunks.push(chunk));
        upstreamRes.on('end', () => onAnswer(status, headers, Buffer.concat(chunks)));
      },
    );
    outgoing.on('error', (error) => {
      if (res.headersSent) res.destroy();
      else answer(req, res, 502, { 'Content-Type': 'text/plain' }, `proxy: ${error.message}`);
    });
    req.pipe(outgoing);
  };

  const handleSync = (req: IncomingMessage, res: ServerResponse, kind: 'push' | 'pull') => {
    if (kind === 'push') counts.pushes += 1;
    else counts.pulls += 1;
    const draw = random();
    let bound = faults.refuseRate;
    if (draw < bound) {
      const refuseKind = faults.refuseKinds[Math.floor(random() * faults.refuseKinds.length)];
      if (refuseKind === 'drop') {
        counts.dropped += 1;
        record(req, 'dropped');
        req.socket.destroy();
        return;
      }
      counts.refused503 += 1;
      record(req, 'refused-503');
      busy(req, res, 503, 1, 'unavailable', 'Overloaded, try again shortly');
      return;
    }
    bound += faults.captivePortalRate;
    if (draw < bound) {
      counts.captivePortal += 1;
      record(req, 'captive-portal');
      answer(req, res, 200, { 'Content-Type': 'text/html; charset=utf-8' }, CAPTIVE_PORTAL_PAGE);
      return;
    }
    bound += faults.rateLimitRate;
    if (draw < bound) {
      counts.rateLimited += 1;
      record(req, 'rate-limited');
      busy(req, res, 429, 2, 'rate_limited', 'Too many requests');
      return;
    }
    // Drawn now, not when the answer comes back, so the sequence of draws depends only on the requests.
    const loseAnswer = random() < faults.ackLossRate;
    const hold = kind === 'push' && faults.holdPushes;
    counts.forwarded += 1;
    if (!loseAnswer && !hold) {
      forward(req, res, undefined);
      record(req, 'forwarded');
      return;
    }
    forward(req, res, (status, headers, body) => {
      if (loseAnswer) {
        counts.answersLost += 1;
        record(req, 'answer-lost', status);
        req.socket.destroy();
        return;
      }
      counts.held += 1;
      record(req, 'held', status);
      const entry: Held = {
        send() {
          held.delete(entry);
          if (res.destroyed) return;
          res.writeHead(status, { ...headers, 'content-length': String(body.length) });
          res.end(body);
        },
      };
      held.add(entry);
      // A browser killed while its push is held takes the connection with it: nothing left to answer.
      res.once('close', () => held.delete(entry));
      for (const wake of heldWaiters) wake();
      heldWaiters = [];
    });
  };

  const server = createServer((req, res) => {
    if (faults.outage) {
      kill(req.socket);
      record(req, 'outage');
      return;
    }
    const path = new URL(req.url ?? '/', 'http://proxy').pathname;
    if (req.method === 'POST' && path === '/api/sync/push') handleSync(req, res, 'push');
    else if (req.method === 'GET' && path === '/api/sync/pull') handleSync(req, res, 'pull');
    else forward(req, res, undefined);
  });
  server.on('connection', (socket) => {
    if (faults.outage) {
      kill(socket);
      return;
    }
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as AddressInfo;

  const releaseHeld = () => {
    const waiting = [...held];
    for (const entry of waiting) entry.send();
    return waiting.length;
  };

  const summary = (): string => {
    const c = counts;
    return (
      `pushes ${c.pushes}, pulls ${c.pulls}, forwarded ${c.forwarded}, refused 503 ${c.refused503}, ` +
      `dropped ${c.dropped}, captive portal ${c.captivePortal}, 429 ${c.rateLimited}, ` +
      `answers lost ${c.answersLost}, held ${c.held}, outage kills ${c.outageKills}`
    );
  };

  return {
    origin: `http://127.0.0.1:${port}`,
    faults: () => faults,
    set(partial) {
      const next = { ...faults, ...partial };
      validate(next);
      faults = next;
      // Unreachable means unreachable: idle keep-alive connections must not carry the next request through.
      if (faults.outage) for (const socket of [...sockets]) kill(socket);
    },
    heal() {
      faults = HEALTHY;
      releaseHeld();
    },
    whenPushHeld(timeoutMs = 30_000) {
      if (held.size > 0) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`no push was held within ${timeoutMs} ms (${summary()})`)),
          timeoutMs,
        );
        heldWaiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    },
    releaseHeld,
    counters: () => ({ ...counts }),
    log: () => [...entries],
    summary,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
