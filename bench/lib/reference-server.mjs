import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from './free-port.mjs';

/** Starts the real reference server (SQLite, durable) on 127.0.0.1, exactly as `npm start` runs it. */
export async function startReferenceServer({ repo, dataDir }) {
  const main = join(repo, 'src/server/node/main.ts');
  if (!existsSync(main)) return { skipped: 'src/server/node/main.ts does not exist yet' };
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', main], {
    cwd: repo,
    env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', DATA_DIR: dataDir, LOG_LEVEL: 'error' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk) => {
    stderr = (stderr + chunk).slice(-4000);
  });
  const exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) return { skipped: `reference server exited (${child.exitCode}): ${stderr}` };
    try {
      const answer = await fetch(`http://127.0.0.1:${port}/api/sync/health`);
      if (answer.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      return { skipped: `reference server did not answer /api/sync/health within 30 s: ${stderr}` };
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    host: '127.0.0.1',
    port,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}
