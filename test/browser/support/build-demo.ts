import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '../../..');
export const DEMO_DIR = join(ROOT, 'dist-demo');
/** Where `vite build` (npm run build) puts the production app, and where the reference server serves it from. */
export const PRODUCTION_DIR = join(ROOT, 'dist');

const INPUTS = ['src', 'public', 'index.html', 'vite.config.ts', 'package.json'];

function newestMtime(path: string): number {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = stat.mtimeMs;
  for (const entry of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, entry)));
  return newest;
}

/**
 * Runs `vite build` with `args` into `outDir`, unless the build there is newer than every input: the browser
 * suite's files share one build per run, and reruns skip it.
 */
function buildOnce(outDir: string, args: readonly string[]): string {
  const marker = join(outDir, 'sw.js');
  const inputsChanged = () =>
    Math.max(
      ...INPUTS.map((input) => join(ROOT, input))
        .filter(existsSync)
        .map(newestMtime),
    );
  if (existsSync(marker) && statSync(marker).mtimeMs > inputsChanged()) return outDir;
  // vitest sets NODE_ENV=test, which would make vite build a development bundle (import.meta.env.DEV); a
  // VITE_DEMO or VITE_SYNC_URL left in the shell would change what the build is.
  const { VITE_DEMO: _demo, VITE_SYNC_URL: _sync, ...env } = process.env;
  execFileSync(
    process.execPath,
    [join(ROOT, 'node_modules/vite/bin/vite.js'), 'build', ...args, '--outDir', outDir, '--emptyOutDir'],
    { cwd: ROOT, stdio: 'pipe', env: { ...env, NODE_ENV: 'production' } },
  );
  return outDir;
}

/** The demo app (mock server inside the service worker) in dist-demo/. */
export function buildDemoOnce(): string {
  return buildOnce(DEMO_DIR, ['--mode', 'demo']);
}

/** The production app (no mock: the page and worker talk to same-origin /api/sync) in dist/, as `npm run build`. */
export function buildProductionOnce(): string {
  return buildOnce(PRODUCTION_DIR, []);
}
