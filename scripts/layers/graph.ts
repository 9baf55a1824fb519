import { type Dirent, readdirSync, readFileSync } from 'node:fs';
import { join, posix, relative, sep } from 'node:path';

/**
 * The repository's import graph, read from the source text: every static import and re-export, type-only or
 * not, every side-effect import and every dynamic `import()`. TypeScript 7 has no JavaScript API to ask, and a
 * reader follows all of these, so all of them count.
 */

/** The folders whose files are read, and the file kinds that can import. */
export const SOURCE_ROOTS = ['src', 'test', 'bench', 'scripts', 'examples'] as const;
const SOURCE_FILE = /\.(ts|tsx|mts|js|mjs)$/;
const SKIPPED_FOLDERS = new Set(['node_modules', 'out', 'artifacts', 'dist', 'dist-lib']);

/** Repo-relative path (forward slashes) → source text. */
export type SourceFiles = ReadonlyMap<string, string>;

export interface ImportEdge {
  /** What the file wrote: `../outbox/page`, `dexie`, `node:fs`. */
  readonly specifier: string;
  /** The repo file it resolves to, or null for a package. */
  readonly file: string | null;
  /** The package it names (`@scope/name`, `name`, `node:fs`), or null for a repo file. */
  readonly pkg: string | null;
  readonly kind: 'static' | 'type' | 'dynamic';
  /** 1-based line of the import, for messages. */
  readonly line: number;
}

export function readSourceFiles(repo: string, roots: readonly string[] = SOURCE_ROOTS): Map<string, string> {
  const files = new Map<string, string>();
  const walk = (dir: string) => {
    let entries: Dirent[];
    try {
      entries = readdirSync(dir, { withFileTypes: true, encoding: 'utf8' });
    } catch {
      return;
    }
    for (const entry of entries) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        if (!SKIPPED_FOLDERS.has(entry.name)) walk(path);
      } else if (SOURCE_FILE.test(entry.name) && !entry.name.endsWith('.d.ts')) {
        files.set(relative(repo, path).split(sep).join('/'), readFileSync(path, 'utf8'));
      }
    }
  };
  for (const root of roots) walk(join(repo, root));
  for (const name of ['vite.config.ts', 'vitest.config.ts']) {
    try {
      files.set(name, readFileSync(join(repo, name), 'utf8'));
    } catch {
      // Not every checkout has both.
    }
  }
  return files;
}

/**
 * The source with comments and the contents of strings and templates blanked (lengths and line breaks kept),
 * so that a comment or a string mentioning `import('x')` is never read as one. Quotes stay, so a specifier
 * can still be read back from the original text at the same offsets.
 */
function blankCommentsAndStrings(source: string): string {
  const out = source.split('');
  let i = 0;
  const blank = (from: number, to: number) => {
    for (let k = from; k < to; k += 1) if (out[k] !== '\n') out[k] = ' ';
  };
  while (i < source.length) {
    const c = source[i];
    const next = source[i + 1];
    if (c === '/' && next === '/') {
      const end = source.indexOf('\n', i);
      const stop = end === -1 ? source.length : end;
      blank(i, stop);
      i = stop;
    } else if (c === '/' && next === '*') {
      const end = source.indexOf('*/', i + 2);
      const stop = end === -1 ? source.length : end + 2;
      blank(i, stop);
      i = stop;
    } else if (c === "'" || c === '"' || c === '`') {
      let k = i + 1;
      while (k < source.length && source[k] !== c) {
        if (source[k] === '\\') k += 1;
        else if (c !== '`' && source[k] === '\n') break;
        k += 1;
      }
      blank(i + 1, k);
      i = k + 1;
    } else {
      i += 1;
    }
  }
  return out.join('');
}

const STATIC = /(^|[\n;])\s*(import|export)\s+(type\s+)?(?:[\w*${}\s,]+?\s+from\s*)?(['"])[^'"\n]*\4/g;
const DYNAMIC = /\bimport\s*\(\s*(['"])[^'"\n]*\1\s*\)/g;

/** Every import of one file, as written. */
export function importsOf(source: string): { specifier: string; kind: ImportEdge['kind']; line: number }[] {
  const code = blankCommentsAndStrings(source);
  const found: { specifier: string; kind: ImportEdge['kind']; line: number; at: number }[] = [];
  const lineAt = (offset: number) => source.slice(0, offset).split('\n').length;
  const specifierAt = (end: number) => {
    // The quoted text ends at `end` (the closing quote); read it from the original source.
    const quote = source[end] as string;
    const start = source.lastIndexOf(quote, end - 1);
    return source.slice(start + 1, end);
  };
  for (const match of code.matchAll(STATIC)) {
    const end = (match.index ?? 0) + match[0].length - 1;
    const isType = match[3] !== undefined;
    found.push({
      specifier: specifierAt(end),
      kind: isType ? 'type' : 'static',
      line: lineAt(end),
      at: end,
    });
  }
  for (const match of code.matchAll(DYNAMIC)) {
    const closing = (match.index ?? 0) + match[0].lastIndexOf(match[1] as string);
    found.push({ specifier: specifierAt(closing), kind: 'dynamic', line: lineAt(closing), at: closing });
  }
  return found.sort((a, b) => a.at - b.at).map(({ specifier, kind, line }) => ({ specifier, kind, line }));
}

/** Vite aliases (vite.config.ts): the folder whose modules they stand for. */
const ALIASES: Readonly<Record<string, string>> = { '#sw-backend': 'src/sw/backend' };

const CANDIDATES = ['', '.ts', '.tsx', '.mts', '.mjs', '.js', '/index.ts', '/index.tsx'];

function packageOf(specifier: string): string {
  if (specifier.startsWith('node:')) return specifier;
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : (parts[0] as string);
}

/** Where one specifier of `from` leads: a repo file (one that exists in `files`), a folder alias, or a package. */
export function resolveImport(
  from: string,
  specifier: string,
  files: SourceFiles,
): Pick<ImportEdge, 'file' | 'pkg'> {
  const alias = ALIASES[specifier];
  if (alias) return { file: `${alias}/`, pkg: null };
  if (!specifier.startsWith('.') && !specifier.startsWith('/')) {
    return { file: null, pkg: packageOf(specifier) };
  }
  const base = posix.normalize(posix.join(posix.dirname(from), specifier));
  for (const suffix of CANDIDATES) {
    const candidate = `${base}${suffix}`;
    if (files.has(candidate)) return { file: candidate, pkg: null };
  }
  // A stylesheet, an HTML page or JSON: not source, but still a file of the folder it names.
  return { file: base, pkg: null };
}

export function edgesOf(from: string, files: SourceFiles): ImportEdge[] {
  const source = files.get(from) ?? '';
  return importsOf(source).map((found) => ({ ...found, ...resolveImport(from, found.specifier, files) }));
}

/**
 * Every cycle among `files`, as strongly connected components of more than one file (or a file importing
 * itself), each listed in a path order that walks the cycle. Tarjan's algorithm, iterative.
 */
export function findCycles(files: SourceFiles, include: (file: string) => boolean = () => true): string[][] {
  const graph = new Map<string, string[]>();
  for (const file of files.keys()) {
    if (!include(file)) continue;
    const targets = edgesOf(file, files)
      .map((edge) => edge.file)
      .filter((target): target is string => target !== null && files.has(target) && include(target));
    graph.set(file, [...new Set(targets)]);
  }
  let index = 0;
  const indexOf = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const components: string[][] = [];
  const strongConnect = (root: string) => {
    const work: { node: string; next: number }[] = [{ node: root, next: 0 }];
    indexOf.set(root, index);
    low.set(root, index);
    index += 1;
    stack.push(root);
    onStack.add(root);
    while (work.length > 0) {
      const frame = work[work.length - 1] as { node: string; next: number };
      const targets = graph.get(frame.node) ?? [];
      if (frame.next < targets.length) {
        const target = targets[frame.next] as string;
        frame.next += 1;
        if (!indexOf.has(target)) {
          indexOf.set(target, index);
          low.set(target, index);
          index += 1;
          stack.push(target);
          onStack.add(target);
          work.push({ node: target, next: 0 });
        } else if (onStack.has(target)) {
          low.set(frame.node, Math.min(low.get(frame.node) as number, indexOf.get(target) as number));
        }
        continue;
      }
      work.pop();
      const parent = work[work.length - 1];
      if (parent)
        low.set(parent.node, Math.min(low.get(parent.node) as number, low.get(frame.node) as number));
      if (low.get(frame.node) === indexOf.get(frame.node)) {
        const component: string[] = [];
        let member: string | undefined;
        do {
          member = stack.pop() as string;
          onStack.delete(member);
          component.push(member);
        } while (member !== frame.node);
        const selfLoop = component.length === 1 && (graph.get(frame.node) ?? []).includes(frame.node);
        if (component.length > 1 || selfLoop) components.push(component.sort());
      }
    }
  };
  for (const file of [...graph.keys()].sort()) if (!indexOf.has(file)) strongConnect(file);
  return components;
}
