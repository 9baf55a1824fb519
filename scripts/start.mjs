#!/usr/bin/env node
/**
 * `npm start`: builds the PWA when `dist/` is missing or older than its sources, then runs the reference
 * server (src/server/node/main.ts) in this same process through tsx, so SIGTERM/SIGINT reach it directly.
 *
 *   PORT, HOST, DATA_DIR, DIST_DIR, AUTH, TRUST_PROXY, CORS_ORIGIN, …   see docs/server.md
 *   --no-build (or SKIP_BUILD=1)                                         serve whatever dist/ holds
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const note = (level, msg, fields = {}) =>
  process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), level, msg, ...fields })}\n`);

// The server's own code does not end up in the app bundle: editing it must not trigger a rebuild.
const IGNORED = new Set([join(root, 'src', 'server', 'node')]);
const APP_SOURCES = ['src', 'public', 'index.html', 'vite.config.ts', 'package.json', 'tsconfig.json'];

function newestMtime(path) {
  if (IGNORED.has(path) || !existsSync(path)) return 0;
  const stats = statSync(path);
  if (!stats.isDirectory()) return stats.mtimeMs;
  let newest = 0;
  for (const entry of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, entry)));
  return newest;
}

function buildIfStale(distDir) {
  const index = join(distDir, 'index.html');
  const builtAt = existsSync(index) ? statSync(index).mtimeMs : 0;
  const changedAt = Math.max(...APP_SOURCES.map((source) => newestMtime(join(root, source))));
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

const distSetting = process.env.DIST_DIR?.trim() || 'dist';
const skipBuild = process.argv.includes('--no-build') || process.env.SKIP_BUILD === '1';
if (distSetting !== 'none' && !skipBuild) {
  const distDir = isAbsolute(distSetting) ? distSetting : resolve(process.cwd(), distSetting);
  // Building writes to the project's dist only; a DIST_DIR elsewhere is served as it is.
  if (distDir === join(root, 'dist')) buildIfStale(distDir);
}

const { register } = await import('tsx/esm/api');
register();
await import(pathToFileURL(join(root, 'src', 'server', 'node', 'main.ts')).href);
