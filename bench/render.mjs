/**
 * Redraws the charts from results JSON without running anything: `node bench/render.mjs` turns
 * every bench/results/*.json into docs/perf/<scenario>.svg; `node bench/render.mjs FILE… [--out DIR]`
 * draws the given results into DIR (default docs/perf).
 *
 * `node bench/render.mjs --markdown [FILE…]` draws nothing and prints instead, for each results
 * file, the markdown table docs/performance.md shows (harness.mjs `formatMarkdownTable`: every
 * variant × metric as median (lowest–highest), the ratios of ours to each peer for the primary
 * metric), under a heading naming the scenario, its size, rounds, date and load average.
 */

import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { chartsDir, formatMarkdownTable, resultsDir, writeChart } from './harness.mjs';

const { values, positionals } = parseArgs({
  options: { out: { type: 'string' }, markdown: { type: 'boolean', default: false } },
  allowPositionals: true,
});
const files =
  positionals.length > 0
    ? positionals
    : readdirSync(resultsDir)
        .filter((name) => name.endsWith('.json'))
        .map((name) => join(resultsDir, name));
for (const file of files) {
  const results = JSON.parse(readFileSync(file, 'utf8'));
  if (values.markdown) {
    const load = results.machine?.loadAverage?.join(', ') ?? '?';
    console.log(
      `### ${results.scenario} — ${results.size}, median of ${results.rounds}, ${results.date}, load average ${load}\n`,
    );
    console.log(formatMarkdownTable(results));
    console.log('');
    continue;
  }
  const path = writeChart(results, values.out ?? chartsDir);
  console.log(`${relative(process.cwd(), file)} -> ${relative(process.cwd(), path)}`);
}
