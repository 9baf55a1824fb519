/**
 * `npm run build:lib`: the outbox core as a package another app installs, in dist-lib/ (`npm pack dist-lib`).
 *
 * - JavaScript: Vite's library mode (Rolldown), one ES module per entry, code the entries share in chunks,
 *   the peers (dexie, rxjs, valibot, msw) left as imports. Not minified: the app that installs it minifies.
 * - Types: `tsc` 7 with `emitDeclarationOnly`, twice (the worker entry needs the WebWorker lib, the others
 *   the DOM), then each relative import in the declarations given its `.js` file, so they resolve under
 *   `moduleResolution` `bundler`, `node16` and `nodenext` alike.
 * - package.json: the exports map and the peer dependencies, each at the version this repository pins.
 *
 * Then each entry's own size: minified and gzipped, the peers excluded, the chunks it imports statically
 * counted with it, its lazily loaded chunks reported apart.
 */
import { spawnSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build, type Rollup } from 'vite';

const repo = dirname(dirname(fileURLToPath(import.meta.url)));
const out = join(repo, 'dist-lib');
const appPackage = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as {
  version: string;
  dependencies: Record<string, string>;
};

/** The package's entries: where each is in the repository, and its subpath. */
export const ENTRIES = {
  index: { source: 'src/outbox/index.ts', subpath: '.' },
  page: { source: 'src/outbox/page/index.ts', subpath: './page' },
  'page-stream': { source: 'src/outbox/page/stream/index.ts', subpath: './page/stream' },
  worker: { source: 'src/outbox/worker/index.ts', subpath: './worker' },
  mock: { source: 'src/outbox/mock/index.ts', subpath: './mock' },
  server: { source: 'src/outbox/server/index.ts', subpath: './server' },
  'server-testing': { source: 'src/outbox/server/testing/index.ts', subpath: './server/testing' },
} as const;

/** Installed next to the package, never bundled into it; which entries need each. */
const PEERS: Record<string, { readonly optional: boolean; readonly for: string }> = {
  valibot: { optional: false, for: 'every entry' },
  rxjs: { optional: true, for: 'page, worker, mock' },
  dexie: { optional: true, for: 'page' },
  msw: { optional: true, for: 'mock' },
};
const external = (id: string) => Object.keys(PEERS).some((peer) => id === peer || id.startsWith(`${peer}/`));

async function bundle(minify: boolean): Promise<Rollup.RollupOutput> {
  const result = await build({
    configFile: false,
    root: repo,
    logLevel: 'warn',
    publicDir: false,
    build: {
      outDir: out,
      emptyOutDir: false,
      write: !minify,
      target: 'es2022',
      minify,
      sourcemap: false,
      reportCompressedSize: false,
      lib: {
        entry: Object.fromEntries(
          Object.entries(ENTRIES).map(([name, entry]) => [name, join(repo, entry.source)]),
        ),
        formats: ['es'],
      },
      rollupOptions: {
        external,
        output: { entryFileNames: '[name].js', chunkFileNames: 'chunks/[name]-[hash].js' },
      },
    },
  });
  return (Array.isArray(result) ? result[0] : result) as Rollup.RollupOutput;
}

function declarations(): void {
  for (const config of ['tsconfig.lib.json', 'tsconfig.lib-worker.json']) {
    const tsc = spawnSync(process.execPath, [join(repo, 'node_modules/typescript/bin/tsc'), '-p', config], {
      cwd: repo,
      encoding: 'utf8',
    });
    if (tsc.status !== 0) throw new Error(`tsc -p ${config} failed:\n${tsc.stdout}${tsc.stderr}`);
  }
  const types = join(out, 'types');
  const walk = (dir: string): string[] =>
    readdirSync(dir).flatMap((name) => {
      const path = join(dir, name);
      return statSync(path).isDirectory() ? walk(path) : path.endsWith('.d.ts') ? [path] : [];
    });
  for (const file of walk(types)) {
    const text = readFileSync(file, 'utf8').replace(
      /(from\s+|import\s*\(\s*|import\s+)(['"])(\.{1,2}\/[^'"]+)\2/g,
      (match, lead: string, quote: string, specifier: string) => {
        const base = join(dirname(file), specifier);
        if (existsSync(`${base}.d.ts`)) return `${lead}${quote}${specifier}.js${quote}`;
        if (existsSync(join(base, 'index.d.ts'))) return `${lead}${quote}${specifier}/index.js${quote}`;
        return match;
      },
    );
    writeFileSync(file, text);
  }
}

function packageJson(): void {
  const peerDependencies = Object.fromEntries(
    Object.keys(PEERS).map((peer) => [peer, `^${appPackage.dependencies[peer]}`]),
  );
  const peerDependenciesMeta = Object.fromEntries(
    Object.entries(PEERS)
      .filter(([, peer]) => peer.optional)
      .map(([name]) => [name, { optional: true }]),
  );
  const exports = Object.fromEntries(
    Object.entries(ENTRIES).map(([name, entry]) => {
      const types = `./types/${relative('src/outbox', entry.source).replace(/\.ts$/, '.d.ts')}`;
      return [entry.subpath, { types, import: `./${name}.js` }];
    }),
  );
  const manifest = {
    name: '@outpost/outbox',
    version: appPackage.version,
    description:
      'A transactional outbox for offline-first PWAs: event-sourced stream types, IndexedDB, a service-worker sync loop, a mock and a server core.',
    type: 'module',
    sideEffects: false,
    engines: { node: '>=20' },
    exports,
    peerDependencies,
    peerDependenciesMeta,
  };
  writeFileSync(join(out, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  copyFileSync(join(repo, 'docs/library.md'), join(out, 'README.md'));
}

/** Each entry's minified, gzipped bytes: its own chunk and what it imports statically; lazy chunks apart. */
function sizes(output: Rollup.RollupOutput): { entry: string; initial: number; lazy: number }[] {
  const chunks = new Map(
    output.output
      .filter((item): item is Rollup.OutputChunk => item.type === 'chunk')
      .map((c) => [c.fileName, c]),
  );
  const gz = (chunk: Rollup.OutputChunk) => gzipSync(chunk.code, { level: 9 }).length;
  const closure = (start: string, follow: (chunk: Rollup.OutputChunk) => readonly string[]) => {
    const seen = new Set<string>();
    const queue = [start];
    while (queue.length > 0) {
      const name = queue.shift() as string;
      const chunk = chunks.get(name);
      if (!chunk || seen.has(name)) continue;
      seen.add(name);
      queue.push(...follow(chunk));
    }
    return seen;
  };
  return Object.keys(ENTRIES).map((entry) => {
    const statics = closure(`${entry}.js`, (chunk) => chunk.imports);
    const all = closure(`${entry}.js`, (chunk) => [...chunk.imports, ...chunk.dynamicImports]);
    const sum = (names: Iterable<string>) =>
      [...names].reduce((total, name) => total + gz(chunks.get(name) as Rollup.OutputChunk), 0);
    return { entry, initial: sum(statics), lazy: sum([...all].filter((name) => !statics.has(name))) };
  });
}

rmSync(out, { recursive: true, force: true });
await bundle(false);
declarations();
packageJson();
const measured = sizes(await bundle(true));
const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} kB`;
console.log('dist-lib: @outpost/outbox, minified + gzip, peers excluded');
for (const { entry, initial, lazy } of measured) {
  console.log(
    `  ${entry.padEnd(7)} ${kb(initial).padStart(9)}${lazy > 0 ? `  (+ ${kb(lazy)} loaded lazily)` : ''}`,
  );
}
writeFileSync(join(out, 'sizes.json'), `${JSON.stringify(measured, null, 2)}\n`);
