import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, posix } from 'node:path';
import { gzipSync } from 'node:zlib';

/** The production app (`vite build`), service worker included, into `outDir`. */
export function buildApp({ repo, outDir }) {
  const build = spawnSync(
    process.execPath,
    [
      join(repo, 'node_modules/vite/bin/vite.js'),
      'build',
      '--outDir',
      outDir,
      '--emptyOutDir',
      '--logLevel',
      'error',
    ],
    {
      cwd: repo,
      encoding: 'utf8',
      env: { ...process.env, NODE_ENV: 'production' },
    },
  );
  if (build.status !== 0) throw new Error(`app build failed: ${build.stderr || build.stdout}`);
  return outDir;
}

/**
 * Gzipped bytes a first visit must download before the app runs: the entry chunk named by index.html plus
 * every chunk it imports statically (transitively). Dynamic imports are excluded (they load later, on
 * demand); stylesheets are reported apart. Level 9, what a static host's precompression serves.
 */
export function measureSize({ repo, outDir }) {
  buildApp({ repo, outDir });
  const { files: seen, styles, indexPath } = firstScreenFiles(outDir);
  const gz = (file) => gzipSync(readFileSync(join(outDir, file)), { level: 9 }).length;
  const describe = (file) => ({ file, raw: readFileSync(join(outDir, file)).length, gzip: gz(file) });
  const files = seen.map(describe);
  const css = styles.map((url) => describe(url.replace(/^\//, '')));
  const initial = files.reduce((sum, entry) => sum + entry.gzip, 0);
  const swPath = join(outDir, 'sw.js');
  const sw = existsSync(swPath) ? { raw: readFileSync(swPath).length, gzip: gz('sw.js') } : null;
  return { initialGzip: initial, files, css, sw, outDir: dirname(indexPath) };
}

/** The built files of the first screen (the entry chunk and its static imports, transitively) and its stylesheets. */
export function firstScreenFiles(outDir) {
  const indexPath = join(outDir, 'index.html');
  if (!existsSync(indexPath)) throw new Error('the app build wrote no index.html');
  const html = readFileSync(indexPath, 'utf8');
  const local = (url) => !/^(https?:)?\/\//.test(url);
  const scripts = [...html.matchAll(/<script[^>]*type="module"[^>]*src="([^"]+)"/g)]
    .map((m) => m[1])
    .filter(local);
  const preloads = [...html.matchAll(/<link[^>]*rel="modulepreload"[^>]*href="([^"]+)"/g)]
    .map((m) => m[1])
    .filter(local);
  const styles = [...html.matchAll(/<link[^>]*rel="stylesheet"[^>]*href="([^"]+)"/g)]
    .map((m) => m[1])
    .filter(local);
  const seen = new Set();
  const queue = [...scripts, ...preloads].map((url) => posix.normalize(url.replace(/^\//, '')));
  while (queue.length > 0) {
    const file = queue.shift();
    if (seen.has(file)) continue;
    seen.add(file);
    const code = readFileSync(join(outDir, file), 'utf8');
    // Static `import … from "x"` and `import "x"`, not `import("x")`: a parenthesis cannot precede the quote.
    for (const match of code.matchAll(/\bimport\s*(?:[^"'();]*?\bfrom\s*)?["']([^"']+)["']/g)) {
      const target = match[1];
      if (!target.startsWith('.') && !target.startsWith('/')) continue;
      queue.push(
        target.startsWith('/') ? target.slice(1) : posix.normalize(posix.join(posix.dirname(file), target)),
      );
    }
    for (const match of code.matchAll(/\bexport\s*[^"'();]*?\bfrom\s*["']([^"']+)["']/g)) {
      const target = match[1];
      if (target.startsWith('.')) queue.push(posix.normalize(posix.join(posix.dirname(file), target)));
    }
  }
  return { files: [...seen], styles, indexPath };
}
