/**
 * Builds the PWA when `dist/` is missing or older than its sources, for `npm start` and `npm run
 * start:cluster`. Skipped with `--no-build`, `SKIP_BUILD=1` or `DIST_DIR=none`.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';

export const note = (level, msg, fields = {}) =>
  process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), level, msg, ...fields })}\n`);

const APP_SOURCES = ['src', 'public', 'index.html', 'vite.config.ts', 'package.json', 'tsconfig.json'];

function newestMtime(path, ignored) {
  if (ignored.has(path) || !existsSync(path)) return 0;
  const stats = statSync(path);
  if (!stats.isDirectory()) return stats.mtimeMs;
  let newest = 0;
  for (const entry of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, entry), ignored));
  return newest;
}

function buildIfStale(root, distDir) {
  // The server's own code does not end up in the app bundle: editing it must not trigger a rebuild.
  const ignored = new Set([join(root, 'src', 'server', 'node')]);
  const index = join(distDir, 'index.html');
  const builtAt = existsSync(index) ? statSync(index).mtimeMs : 0;
  const changedAt = Math.max(...APP_SOURCES.map((source) => newestMtime(join(root, source), ignored)));
  if (builtAt > 0 && builtAt >= changedAt) return;
  if (!existsSync(join(root, 'vite.config.ts'))) {
    note('warn', 'no vite.config.ts yet: cannot build the app, serving the API only');
    return;
  }
  note('info', builtAt === 0 ? 'building the app (no dist yet)' : 'building the app (sources changed)');
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const build = spawnSync(npm, ['run', 'build'], { cwd: root, stdio: 'inherit' });
  if (build.status === 0) return;
  // The API must stay reachable even when the front end does not build: clients hold unsent work.
  note('error', 'the app build failed', {
    serving: existsSync(index) ? 'the previous build' : 'the API only',
  });
}

/** Builds `root`/dist when it is what DIST_DIR names and it is stale. */
export function buildAppIfStale(root) {
  const distSetting = process.env.DIST_DIR?.trim() || 'dist';
  const skipBuild = process.argv.includes('--no-build') || process.env.SKIP_BUILD === '1';
  if (distSetting === 'none' || skipBuild) return;
  const distDir = isAbsolute(distSetting) ? distSetting : resolve(process.cwd(), distSetting);
  // Building writes to the project's dist only; a DIST_DIR elsewhere is served as it is.
  if (distDir === join(root, 'dist')) buildIfStale(root, distDir);
}
