#!/usr/bin/env node
/** Prints bench/results.json (or the file given) as the Markdown table docs/performance.md carries. */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const file = process.argv[2] ?? join(dirname(fileURLToPath(import.meta.url)), 'results.json');
const results = JSON.parse(readFileSync(file, 'utf8'));
const range = (s) => (s?.min !== undefined ? `${s.median} (${s.min}–${s.max})` : s ? String(s.median) : '—');
console.log(
  '| Figure | Unit | Outpost median (min–max) | Baseline | Baseline median (min–max) | Ratio | Target | Met |',
);
console.log('|---|---|---|---|---|---|---|---|');
for (const f of results.figures) {
  const target = f.target ? `${f.target.op.replace('>=', '≥').replace('<=', '≤')} ${f.target.value}` : '—';
  const met = f.met === null || f.met === undefined ? '—' : f.met ? 'yes' : '**no**';
  console.log(
    `| ${f.title} | ${f.unit} | ${range(f.product)} | ${f.baseline?.name ?? '—'} | ${f.baseline ? range(f.baseline) : '—'} | ${f.ratio ?? '—'} | ${target} | ${met} |`,
  );
}
const m = results.machine;
console.log(
  `\n${results.mode} run ${results.generatedAt}, ${Math.round(results.elapsedMs / 1000)} s; ${m.cpus} × ${m.cpuModel}, ${m.memoryGb} GiB; Node ${m.node}; ${m.chromium}; load average before ${m.loadAverageBefore.join(' / ')}, after ${m.loadAverageAfter.join(' / ')}.`,
);
