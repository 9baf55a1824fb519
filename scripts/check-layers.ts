/**
 * `npm run layers` (part of `npm run check`): every source file imports only what its layer's allow-list
 * names (scripts/layers/rules.ts), no files of src/ import each other in a cycle, and the table in
 * docs/architecture.md is the one the rules render. `--write` renders the table into the document.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkLayers, layerTable, withTable } from './layers/check';
import { readSourceFiles } from './layers/graph';
import { LAYERS } from './layers/rules';

const repo = dirname(dirname(fileURLToPath(import.meta.url)));
const pkg = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as Record<string, unknown>;
const declared = new Set(
  ['dependencies', 'devDependencies', 'peerDependencies'].flatMap((field) =>
    Object.keys((pkg[field] as Record<string, string> | undefined) ?? {}),
  ),
);

const files = readSourceFiles(repo);
const { breaches, cycles } = checkLayers(files, { layers: LAYERS, declared });
let failed = false;
for (const breach of breaches) {
  console.error(`${breach.file}:${breach.line}: ${breach.message}`);
  failed = true;
}
for (const cycle of cycles) {
  console.error(`import cycle: ${cycle.join(' → ')}`);
  failed = true;
}

const docPath = join(repo, 'docs/architecture.md');
const doc = readFileSync(docPath, 'utf8');
const rendered = withTable(doc, layerTable(LAYERS));
if (rendered === null) {
  console.error('docs/architecture.md has no layer table markers');
  failed = true;
} else if (rendered !== doc) {
  if (process.argv.includes('--write')) {
    writeFileSync(docPath, rendered);
    console.log('docs/architecture.md: layer table written');
  } else {
    console.error(
      'docs/architecture.md: the layer table differs from scripts/layers/rules.ts (npm run layers -- --write)',
    );
    failed = true;
  }
}

if (failed) process.exit(1);
console.log(`layers: ${files.size} files, ${LAYERS.length} layers, no breach, no import cycle`);
