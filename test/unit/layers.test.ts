import { readFileSync } from 'node:fs';
import { dirname, join, posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { checkLayers, layerNameOf } from '../../scripts/layers/check';
import { readSourceFiles } from '../../scripts/layers/graph';
import { LAYERS } from '../../scripts/layers/rules';

/**
 * The layer rules refuse what they do not allow: for every layer, one of its files gets an import planted
 * (in memory) that its allow-list does not name, and the check must report exactly that import. Without
 * this, a rule that allowed everything would pass `npm run check` just the same.
 */

const repo = join(dirname(fileURLToPath(import.meta.url)), '../..');
const pkg = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as Record<string, unknown>;
const declared = new Set(
  ['dependencies', 'devDependencies'].flatMap((field) =>
    Object.keys((pkg[field] as Record<string, string> | undefined) ?? {}),
  ),
);
const files = readSourceFiles(repo);
const check = (source: ReadonlyMap<string, string>) => checkLayers(source, { layers: LAYERS, declared });

/** What a planted import may name: files of very different layers, then a package nobody declares. */
const TARGETS = [
  'src/ui/app.tsx',
  'src/server/node/main.ts',
  'src/outbox/page/database.ts',
  'src/app/outpost.ts',
  'test/support/app-db.ts',
  'bench/page/setups.ts',
  'left-pad',
];

const specifierFrom = (file: string, target: string) => {
  if (!target.includes('/')) return target;
  const relative = posix.relative(posix.dirname(file), target.replace(/\.tsx?$/, ''));
  return relative.startsWith('.') ? relative : `./${relative}`;
};

/** The first file each layer claims (the first matching layer wins, as in the check itself). */
const firstFileOf = (layerName: string): string | undefined =>
  [...files.keys()].sort().find((file) => layerNameOf(file, LAYERS) === layerName);

describe('the layer rules', () => {
  it('hold for the repository as it is: no breach, no import cycle', () => {
    const { breaches, cycles } = check(files);
    expect(breaches).toEqual([]);
    expect(cycles).toEqual([]);
  });

  it.each(LAYERS.map((layer) => [layer.name]))('refuse an import %s does not allow', (layerName) => {
    const file = firstFileOf(layerName);
    expect(file, `no file belongs to ${layerName}: a rule nothing matches is stale`).toBeDefined();
    if (!file) return;
    const source = files.get(file) ?? '';
    const refused = TARGETS.find((target) => {
      const planted = new Map(files);
      planted.set(file, `${source}\nimport '${specifierFrom(file, target)}';\n`);
      return check(planted).breaches.some((breach) => breach.file === file);
    });
    expect(refused, `every target is allowed in ${layerName}`).toBeDefined();
    const planted = new Map(files);
    const specifier = specifierFrom(file, refused ?? '');
    planted.set(file, `${source}\nimport '${specifier}';\n`);
    expect(check(planted).breaches).toEqual([
      expect.objectContaining({ file, layer: layerName, message: expect.stringContaining(`'${specifier}'`) }),
    ]);
  });

  it('refuse an import cycle among the files of src/', () => {
    const planted = new Map(files);
    // validation.ts already imports result.ts.
    planted.set('src/outbox/result.ts', `${files.get('src/outbox/result.ts')}\nimport './validation';\n`);
    expect(check(planted).cycles).toEqual([['src/outbox/result.ts', 'src/outbox/validation.ts']]);
  });

  it('refuse a file no layer claims', () => {
    const planted = new Map(files);
    planted.set('src/stray.ts', 'export const stray = 1;\n');
    expect(check(planted).breaches.map((breach) => breach.file)).toContain('src/stray.ts');
  });
});
