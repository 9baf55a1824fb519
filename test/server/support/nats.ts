import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { OUTBOX_STREAM } from '../../../src/server/node/nats-broker';
import { freePort } from './server-process';

/**
 * A NATS JetStream server for one test file: `nats-server -js` on a free loopback port with its store in a
 * temp folder, stopped and started again on the same port and store for outage tests. A missing binary
 * fails the file with the install command: these suites never skip.
 */
export interface TestNats {
  readonly url: string;
  readonly port: number;
  /** Stops it (SIGTERM) and waits for the exit; the store stays. */
  stop(): Promise<void>;
  /** Starts it again on the same port and store. */
  start(): Promise<void>;
  /** Deletes the outbox stream and its consumers: each test starts from an empty broker. */
  reset(): Promise<void>;
  /** A client connection, closed by `close()`. */
  client(): Promise<NatsConnection>;
  close(): Promise<void>;
}

export class NatsMissingError extends Error {
  constructor() {
    super(
      'nats-server is not installed: install it with `apt-get install -y nats-server` (Debian 2.9 has JetStream)',
    );
    this.name = 'NatsMissingError';
  }
}

const listening = (port: number) =>
  new Promise<boolean>((done) => {
    const socket = createConnection({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      done(true);
    });
    socket.once('error', () => done(false));
  });

export async function startTestNats(): Promise<TestNats> {
  try {
    execFileSync('nats-server', ['--version'], { stdio: 'ignore' });
  } catch {
    throw new NatsMissingError();
  }
  const folder = mkdtempSync(join(tmpdir(), 'outpost-nats-'));
  const port = await freePort();
  const url = `nats://127.0.0.1:${port}`;
  let child: ChildProcess | null = null;
  const clients: NatsConnection[] = [];

  async function start(): Promise<void> {
    const started = spawn(
      'nats-server',
      ['-js', '-sd', join(folder, 'js'), '-a', '127.0.0.1', '-p', String(port)],
      {
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    let stderr = '';
    started.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    child = started;
    for (let attempt = 0; attempt < 200; attempt += 1) {
      if (started.exitCode !== null) throw new Error(`nats-server exited: ${stderr}`);
      if (await listening(port)) return;
      await new Promise((wait) => setTimeout(wait, 50));
    }
    throw new Error(`nats-server did not listen on ${port}: ${stderr}`);
  }

  async function stop(): Promise<void> {
    const running = child;
    child = null;
    if (!running || running.exitCode !== null) return;
    await new Promise<void>((done) => {
      running.once('exit', () => done());
      running.kill('SIGTERM');
    });
  }

  async function client(): Promise<NatsConnection> {
    const connection = await connect({ servers: url, maxReconnectAttempts: -1, reconnectTimeWait: 200 });
    clients.push(connection);
    return connection;
  }

  await start();
  return {
    url,
    port,
    start,
    stop,
    client,
    async reset() {
      const connection = await client();
      const manager = await jetstreamManager(connection);
      await manager.streams.delete(OUTBOX_STREAM).catch(() => false);
      await connection.close();
    },
    async close() {
      await Promise.all(clients.map((connection) => connection.close().catch(() => undefined)));
      await stop();
      rmSync(folder, { recursive: true, force: true });
    },
  };
}
