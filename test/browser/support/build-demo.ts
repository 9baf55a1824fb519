import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '../../..');
export const DEMO_DIR = join(ROOT, 'dist-demo');

const INPUTS = ['src', 'public', 'index.html', 'vite.config.ts', 'package.json'];

function newestMtime(path: string): number {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = stat.mtimeMs;
  for (const entry of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, entry)));
  return newest;
}

/**
 * Builds the demo app (mock server inside the service worker) into dist-demo/, unless the build there is
 * newer than every input: the browser suite's files share one build per run, and reruns skip it.
 */
export function buildDemoOnce(): string {
  const marker = join(DEMO_DIR, 'sw.js');
  const inputsChanged = () =>
    Math.max(
      ...INPUTS.map((input) => join(ROOT, input))
        .filter(existsSync)
        .map(newestMtime),
    );
  if (existsSync(marker) && statSync(marker).mtimeMs > inputsChanged()) return DEMO_DIR;
  execFileSync(
    process.execPath,
    [
      join(ROOT, 'node_modules/vite/bin/vite.js'),
      'build',
      '--mode',
      'demo',
      '--outDir',
      'dist-demo',
      '--emptyOutDir',
    ],
    // vitest sets NODE_ENV=test, which would make vite build a development bundle (import.meta.env.DEV).
    { cwd: ROOT, stdio: 'pipe', env: { ...process.env, NODE_ENV: 'production' } },
  );
  return DEMO_DIR;
}
