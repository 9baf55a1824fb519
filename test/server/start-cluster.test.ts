import { spawn } from 'node:child_process';
import { chmodSync } from 'node:fs';
import { createConnection } from 'node:net';
import { resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { uuidv7Generator } from '../../src/outbox/ids';
import { freePort, tempDir } from './support/server-process';
import { ordersFor, pullAll, push } from './support/sync-client';

const ROOT = resolve(import.meta.dirname, '../..');
const temp = tempDir('start-cluster');
// As root the cluster runs as the postgres user, which must reach its folder.
chmodSync(temp.path, 0o755);
afterAll(() => temp.remove());

const listening = (port: number) =>
  new Promise<boolean>((done) => {
    const socket = createConnection({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      done(true);
    });
    socket.once('error', () => done(false));
  });

describe('npm run start:cluster', () => {
  it('starts PostgreSQL, NATS JetStream, two instances, a round-robin proxy, the relay and both services in one command, and Ctrl-C stops all of it', async () => {
    const port = await freePort();
    const pgPort = await freePort();
    const natsPort = await freePort();
    const child = spawn('npm', ['run', '--silent', 'start:cluster'], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '',
        DATA_DIR: temp.path,
        PORT: String(port),
        PG_PORT: String(pgPort),
        NATS_PORT: String(natsPort),
        DIST_DIR: 'none',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const lines: string[] = [];
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => lines.push(...chunk.split('\n')));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
    try {
      await expect
        .poll(() => lines.some((line) => line.includes('"cluster listening"')), {
          timeout: 60_000,
          interval: 100,
        })
        .toBe(true);

      const base = `http://127.0.0.1:${port}/api/sync`;
      const ids = uuidv7Generator();
      const clientId = ids();
      for (const order of ordersFor(ids, clientId, 4)) {
        const answer = await push(base, undefined, clientId, order, ids());
        expect(answer.results.map((result) => result.status)).toEqual([
          'accepted',
          'accepted',
          'accepted',
          'accepted',
        ]);
      }
      // A pull passes only what no older transaction can still precede (decision 11); the relay's and the
      // services' transactions on the same database may hold that horizon back for a moment after a push.
      await expect
        .poll(async () => (await pullAll(base, undefined, clientId)).length, {
          timeout: 30_000,
          interval: 100,
        })
        .toBe(4);
      // The proxy took turns: both instances answered pushes.
      const pushedBy = new Set(
        lines
          .filter((line) => line.includes('"path":"/api/sync/push"'))
          .map((line) => (JSON.parse(line) as { instance: number }).instance),
      );
      expect(pushedBy).toEqual(new Set([1, 2]));
      // The server outbox's side: relayed, and applied by the analytics service behind it.
      await expect
        .poll(
          async () => {
            const summary = (await (
              await fetch(`http://127.0.0.1:${port}/api/analytics/summary`)
            ).json()) as {
              tables: Record<string, unknown>;
            };
            return summary.tables.order_outcomes;
          },
          { timeout: 60_000, interval: 200 },
        )
        .toEqual([{ id: 'all', placed: 4, confirmed: 4 }]);
    } finally {
      child.kill('SIGINT');
      expect(await exited).toBe(0);
    }
    expect(stderr).toBe('');
    expect(await listening(port)).toBe(false);
    expect(await listening(pgPort)).toBe(false);
    expect(await listening(natsPort)).toBe(false);
  }, 90_000);
});
