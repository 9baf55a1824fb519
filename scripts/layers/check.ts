import { edgesOf, findCycles, type SourceFiles } from './graph';
import type { Layer } from './rules';

/**
 * The layer check, pure over the source text: every file belongs to a layer, imports only what its layer's
 * allow-list names, and no files import each other in a cycle. Apart from the command line
 * (scripts/check-layers.ts) so a test can plant a breach in memory and see it refused.
 */

export interface Breach {
  readonly file: string;
  readonly line: number;
  readonly layer: string;
  readonly message: string;
}

export interface CheckResult {
  readonly breaches: readonly Breach[];
  readonly cycles: readonly (readonly string[])[];
}

/** A glob as a regular expression: `**` any path, `*` within one segment (captured: `{own}` is the first). */
function globToRegExp(glob: string): RegExp {
  let pattern = '';
  for (let i = 0; i < glob.length; i += 1) {
    const c = glob[i] as string;
    if (c === '*' && glob[i + 1] === '*') {
      // `a/**` matches `a/x/y`; `a/**/b` matches `a/b` too.
      if (glob[i + 2] === '/') {
        pattern += '(?:.*/)?';
        i += 2;
      } else {
        pattern += '.*';
        i += 1;
      }
    } else if (c === '*') {
      pattern += '([^/]*)';
    } else {
      pattern += c.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
    }
  }
  return new RegExp(`^${pattern}$`);
}

const REPO_ROOTS = ['src/', 'test/', 'bench/', 'scripts/', 'examples/', 'index.html'];
const isPathPattern = (pattern: string) => REPO_ROOTS.some((root) => pattern.startsWith(root));

interface CompiledLayer {
  readonly layer: Layer;
  readonly files: readonly RegExp[];
}

/** The layer a file belongs to, and the folder its first `*` matched (`{own}`). */
function layerOf(file: string, layers: readonly CompiledLayer[]): { layer: Layer; own: string } | null {
  for (const compiled of layers) {
    for (const [index, regexp] of compiled.files.entries()) {
      const match = regexp.exec(file);
      if (!match) continue;
      const glob = compiled.layer.files[index] as string;
      const star = glob.indexOf('*');
      const own = match[1] !== undefined && star >= 0 ? `${glob.slice(0, star)}${match[1]}` : '';
      return { layer: compiled.layer, own };
    }
  }
  return null;
}

/** Whether an import of `target` (a repo path, or a package name) is on the allow-list. */
function allowed(
  mayImport: readonly string[],
  own: string,
  target: { readonly file: string | null; readonly pkg: string | null },
  declared: ReadonlySet<string>,
): boolean {
  let ok = false;
  for (const raw of mayImport) {
    const negated = raw.startsWith('!');
    const pattern = (negated ? raw.slice(1) : raw).replaceAll('{own}', own);
    let matches: boolean;
    if (target.file !== null) {
      // A folder alias (`#sw-backend`) names a folder: it matches a pattern of that folder's files.
      const file = target.file.endsWith('/') ? `${target.file}index.ts` : target.file;
      matches = isPathPattern(pattern) && globToRegExp(pattern).test(file);
    } else {
      const pkg = target.pkg as string;
      matches =
        !isPathPattern(pattern) &&
        (pattern === 'npm:*'
          ? declared.has(pkg) || pkg.startsWith('node:')
          : globToRegExp(pattern).test(pkg));
    }
    if (matches) ok = !negated;
  }
  return ok;
}

/** The name of the layer a file belongs to; null when none claims it. */
export function layerNameOf(file: string, layers: readonly Layer[]): string | null {
  const compiled = layers.map((layer) => ({ layer, files: layer.files.map(globToRegExp) }));
  return layerOf(file, compiled)?.layer.name ?? null;
}

export interface CheckOptions {
  readonly layers: readonly Layer[];
  /** Packages package.json declares (`npm:*`). */
  readonly declared: ReadonlySet<string>;
}

export function checkLayers(files: SourceFiles, options: CheckOptions): CheckResult {
  const compiled = options.layers.map((layer) => ({ layer, files: layer.files.map(globToRegExp) }));
  const breaches: Breach[] = [];
  for (const file of [...files.keys()].sort()) {
    const home = layerOf(file, compiled);
    if (!home) {
      breaches.push({
        file,
        line: 1,
        layer: '-',
        message: 'belongs to no layer: add it to scripts/layers/rules.ts',
      });
      continue;
    }
    for (const edge of edgesOf(file, files)) {
      if (allowed(home.layer.mayImport, home.own, edge, options.declared)) continue;
      const what = edge.file ?? edge.pkg;
      breaches.push({
        file,
        line: edge.line,
        layer: home.layer.name,
        message: `${home.layer.name} may not import ${what} ('${edge.specifier}')`,
      });
    }
  }
  return { breaches, cycles: findCycles(files, (file) => file.startsWith('src/')) };
}

/** The table of docs/architecture.md, rendered from the rules. */
export function layerTable(layers: readonly Layer[]): string {
  const code = (text: string) => `\`${text}\``;
  const rows = layers.map((layer) => [
    layer.name,
    layer.files.map(code).join(', '),
    layer.job,
    layer.mayImport.map(code).join(', '),
  ]);
  const header = ['Layer', 'Files', 'Where it runs, what it does', 'May import only'];
  const cellOf = (text: string) => text.replaceAll('|', '\\|');
  const cells = [header, ...rows].map((row) => row.map(cellOf));
  // Aligned as the formatter (Biome) lays markdown tables out, so `npm run check` agrees with both.
  const widths = header.map((_, column) => Math.max(3, ...cells.map((row) => (row[column] ?? '').length)));
  const line = (row: readonly string[]) =>
    `| ${row.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join(' | ')} |`;
  const [head, ...body] = cells;
  return [line(head ?? []), line(widths.map((width) => '-'.repeat(width))), ...body.map(line)].join('\n');
}

export const TABLE_START =
  '<!-- layers:start (generated from scripts/layers/rules.ts: npm run layers -- --write) -->';
export const TABLE_END = '<!-- layers:end -->';

/** The document with its table replaced by `table`; null when it has no markers. */
export function withTable(document: string, table: string): string | null {
  const start = document.indexOf(TABLE_START);
  const end = document.indexOf(TABLE_END);
  if (start === -1 || end === -1 || end < start) return null;
  return `${document.slice(0, start + TABLE_START.length)}\n${table}\n${document.slice(end)}`;
}
