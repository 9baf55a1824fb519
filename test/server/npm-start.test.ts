import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startServerProcess, stopAllServers, tempDir } from './support/server-process';

const temp = tempDir('npm-start');

afterAll(async () => {
  await stopAllServers();
  temp.remove();
});

describe('npm start', () => {
  it('stops the server gracefully when npm itself gets SIGTERM (a process manager stops npm, not node)', async () => {
    const server = await startServerProcess({ dataDir: join(temp.path, 'data'), viaNpm: true });
    expect((await fetch(`${server.baseUrl}/health`)).ok).toBe(true);

    server.child.kill('SIGTERM');
    await server.exited;
    // npm's shell used to die alone and leave the server running without its parent.
    await expect(fetch(`${server.baseUrl}/health`)).rejects.toThrow();
    expect(server.logs.some((line) => line.includes('"stopped"'))).toBe(true);
  }, 30_000);
});
