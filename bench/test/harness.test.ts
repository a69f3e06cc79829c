import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { median, p50, p99, percentile } from '../harness.mjs';
import { scenarios } from '../scenarios.mjs';

// Runs every scenario at smoke size as a user would (`node bench/<name>.mjs --size smoke`, against
// the built packages: `npm test` builds first), proving the harness works without the full sizes.
// redis-append starts its own redis-server and runs redis-benchmark: both must be on the PATH.
const benchDir = fileURLToPath(new URL('..', import.meta.url));
const out = await mkdtemp(join(tmpdir(), 'ystate-bench-test-'));
afterAll(() => rm(out, { recursive: true, force: true }));

interface Results {
  params: Record<string, unknown>;
  variants: { role: string; samples: Record<string, unknown>[] }[];
}

/** What a scenario's results must show beyond the common fields. */
const scenarioChecks: Record<string, (results: Results) => void> = {
  'trace-load': (results) => {
    expect(results.params).toMatchObject({ edits: 5_000, entries: 5_001 });
    // Each sample compared the loaded text with the expected one (a mismatch fails the run).
    for (const variant of results.variants) {
      expect(variant.samples.every((sample) => sample.verified === true)).toBe(true);
    }
  },
  'redis-append': (results) => {
    expect(results.params).toMatchObject({ appends: 800, documents: 16, appendsPerDocument: 50 });
    const byRole = (role: string) => results.variants.filter((variant) => variant.role === role);
    // The redis-benchmark ceiling is measured in the same run; each sample's share is taken against it.
    expect(byRole('ceiling')).toHaveLength(1);
    for (const variant of results.variants) {
      for (const sample of variant.samples) expect(sample.shareOfCeiling).toBeGreaterThan(0);
    }
    // Each sample of ours and the peer rebuilt the expected text from what Redis stored.
    for (const variant of [...byRole('ours'), ...byRole('peer')]) {
      expect(variant.samples.every((sample) => sample.verified === true)).toBe(true);
    }
  },
};

describe('bench statistics', () => {
  it('takes the median, and percentiles by nearest rank (a value that was observed)', () => {
    expect(median([5, 1, 3])).toBe(3);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    const samples = Array.from({ length: 200 }, (_, i) => 200 - i); // 1..200, unsorted
    expect(p50(samples)).toBe(100);
    expect(p99(samples)).toBe(198);
    expect(percentile(samples, 100)).toBe(200);
    expect(percentile([7], 99)).toBe(7);
  });
});

describe.each(scenarios)('bench scenario %s at smoke size', (name) => {
  it('exits 0 and writes results with the machine, versions, command, medians and ratios, and a chart', async () => {
    // execFile rejects (with stderr) on a non-zero exit, so getting past it means the run exited 0.
    await promisify(execFile)(
      process.execPath,
      [join(benchDir, `${name}.mjs`), '--size', 'smoke', '--out', out],
      {
        timeout: 120_000,
      },
    );
    const results = JSON.parse(await readFile(join(out, `${name}.json`), 'utf8'));
    expect(results).toMatchObject({
      scenario: name,
      size: 'smoke',
      command: expect.stringContaining(`bench/${name}.mjs`),
    });
    expect(Number.isNaN(Date.parse(results.date))).toBe(false);
    expect(results.machine).toEqual(
      expect.objectContaining({
        cpu: expect.any(String),
        cores: expect.any(Number),
        memoryBytes: expect.any(Number),
        node: process.version,
      }),
    );
    expect(Object.keys(results.versions).length).toBeGreaterThan(0);
    expect(Object.values(results.versions).every((version) => typeof version === 'string')).toBe(true);
    const metricKeys = results.metrics.map((metric: { key: string }) => metric.key);
    expect(metricKeys.length).toBeGreaterThan(0);
    const roles = results.variants.map((variant: { role: string }) => variant.role);
    expect(roles).toContain('ours');
    expect(roles.filter((role: string) => role === 'peer')).toHaveLength(1);
    for (const variant of results.variants) {
      expect(variant.samples).toHaveLength(results.rounds);
      for (const key of metricKeys) {
        expect(Number.isFinite(variant.median[key])).toBe(true);
        if (variant.role === 'ours') expect(variant.ratio).toHaveProperty(key);
      }
    }
    const svg = await readFile(join(out, `${name}.svg`), 'utf8');
    expect(svg).toMatch(/^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    expect(svg).toContain(results.variants[0].label);
    scenarioChecks[name]?.(results);
  });
});
