/**
 * Redraws the charts from results JSON without running anything: `node bench/render.mjs` turns
 * every bench/results/*.json into docs/perf/<scenario>.svg; `node bench/render.mjs FILE… [--out DIR]`
 * draws the given results into DIR (default docs/perf).
 */

import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { chartsDir, resultsDir, writeChart } from './harness.mjs';

const { values, positionals } = parseArgs({ options: { out: { type: 'string' } }, allowPositionals: true });
const files =
  positionals.length > 0
    ? positionals
    : readdirSync(resultsDir)
        .filter((name) => name.endsWith('.json'))
        .map((name) => join(resultsDir, name));
for (const file of files) {
  const path = writeChart(JSON.parse(readFileSync(file, 'utf8')), values.out ?? chartsDir);
  console.log(`${relative(process.cwd(), file)} -> ${relative(process.cwd(), path)}`);
}
