/**
 * Where the bytes of figure 8 are: builds the app with source maps into a temp dir and prints, for the first
 * screen's JavaScript and for `sw.js`, the minified bytes each source (or package) contributes and the gzip
 * -9 size of that part alone. Parts compress worse alone than together, so they add up to more than the
 * figure: read them as a ranking, and measure a change with `node bench/run.mjs --only=size`.
 *
 *   node bench/size-attribution.mjs [--by=package|file|folder] [--top=40]
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { firstScreenFiles } from './lib/size.mjs';

const repo = dirname(dirname(fileURLToPath(import.meta.url)));
const { TraceMap, eachMapping } = createRequire(join(repo, 'package.json'))('@jridgewell/trace-mapping');
const option = (name, fallback) =>
  process.argv.find((arg) => arg.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
const by = option('by', 'package');
const top = Number(option('top', '40'));

const gzip = (text) => gzipSync(text, { level: 9 }).length;

/** A source's group: a package by name, or a file (or folder) of the repository. */
function groupOf(source) {
  const path = source.replace(/^.*?\/(node_modules|src)\//, '$1/');
  const pkg = path.match(/^node_modules\/((@[^/]+\/)?[^/]+)/);
  if (pkg && by !== 'file') return `${pkg[1]} (package)`;
  if (by === 'folder' && path.startsWith('src/')) return `${path.split('/').slice(0, -1).join('/')}/`;
  return path;
}

/** The text of each group in one built file, by walking its source map's segments in order. */
function partsOf(outDir, file, parts) {
  const code = readFileSync(join(outDir, file), 'utf8').replace(/\n\/\/# sourceMappingURL=\S+\s*$/, '');
  const mapPath = join(outDir, `${file}.map`);
  const add = (group, text) => parts.set(group, (parts.get(group) ?? '') + text);
  // The bundler's own runtime chunk comes without a map.
  if (!existsSync(mapPath)) {
    add('(bundler glue)', code);
    return code;
  }
  const lineStarts = [0];
  for (let at = code.indexOf('\n'); at !== -1; at = code.indexOf('\n', at + 1)) lineStarts.push(at + 1);
  const segments = [];
  eachMapping(new TraceMap(readFileSync(mapPath, 'utf8')), (mapping) => {
    const offset = lineStarts[mapping.generatedLine - 1] + mapping.generatedColumn;
    segments.push({ offset, group: mapping.source ? groupOf(mapping.source) : '(bundler glue)' });
  });
  segments.sort((a, b) => a.offset - b.offset);
  if ((segments[0]?.offset ?? code.length) > 0) add('(bundler glue)', code.slice(0, segments[0]?.offset));
  segments.forEach((segment, index) => {
    add(segment.group, code.slice(segment.offset, segments[index + 1]?.offset ?? code.length));
  });
  return code;
}

function report(title, outDir, files) {
  const parts = new Map();
  const whole = files.map((file) => partsOf(outDir, file, parts));
  const total = whole.reduce((sum, code) => sum + gzip(code), 0);
  console.log(`\n${title}: ${(total / 1000).toFixed(2)} kB gzip -9 (${files.join(', ')})`);
  console.log('   minified   gzip alone  source');
  const rows = [...parts].map(([group, text]) => ({ group, raw: text.length, gz: gzip(text) }));
  rows.sort((a, b) => b.gz - a.gz);
  for (const row of rows.slice(0, top)) {
    console.log(`${String(row.raw).padStart(11)}  ${String(row.gz).padStart(11)}  ${row.group}`);
  }
  if (rows.length > top) console.log(`  … ${rows.length - top} more`);
}

const outDir = mkdtempSync(join(tmpdir(), 'outpost-size-'));
try {
  const build = spawnSync(
    process.execPath,
    [
      join(repo, 'node_modules/vite/bin/vite.js'),
      'build',
      '--outDir',
      outDir,
      '--emptyOutDir',
      '--sourcemap',
    ],
    { cwd: repo, encoding: 'utf8', env: { ...process.env, NODE_ENV: 'production' } },
  );
  if (build.status !== 0) throw new Error(`app build failed: ${build.stderr || build.stdout}`);
  report('First screen', outDir, firstScreenFiles(outDir).files);
  report('Service worker', outDir, ['sw.js']);
} finally {
  rmSync(outDir, { recursive: true, force: true });
}
