/** Runs a bench scenario at smoke size as a user would, and checks what every scenario's results must hold. */

import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect } from 'vitest';
import { node22 } from '../node-22.mjs';

const benchDir = fileURLToPath(new URL('..', import.meta.url));

export interface Results {
  scenario: string;
  rounds: number;
  params: Record<string, unknown>;
  setup: Record<string, unknown>;
  metrics: { key: string; label: string; unit: string }[];
  variants: {
    id: string;
    label: string;
    role: string;
    median: Record<string, number>;
    ratio?: Record<string, number | null>;
    ratios?: Record<string, Record<string, number | null>>;
    samples: Record<string, unknown>[];
  }[];
}

/**
 * Installs the Node 22 that Hocuspocus 4 runs on (node-22.mjs) before a scenario that runs it: on
 * a fresh machine a download, which must not eat into the scenario's own timeout.
 */
export function installNode22First(): void {
  beforeAll(() => node22(), 600_000);
}

let out: string | undefined;
afterAll(async () => {
  if (out !== undefined) await rm(out, { recursive: true, force: true });
});

/**
 * Runs `node bench/<name>.mjs --size smoke` (against the built packages: `npm test` builds first),
 * checks the results JSON (machine, versions, command, a sample per round of every variant, a
 * median of every metric, ratios of ours to the peers) and the chart, and resolves with the results
 * for the scenario's own checks.
 */
export async function runSmoke(name: string, timeoutMs = 120_000): Promise<Results> {
  out ??= await mkdtemp(join(tmpdir(), 'ystate-bench-test-'));
  // execFile rejects (with stderr) on a non-zero exit, so getting past it means the run exited 0.
  await promisify(execFile)(
    process.execPath,
    [join(benchDir, `${name}.mjs`), '--size', 'smoke', '--out', out],
    {
      timeout: timeoutMs,
      maxBuffer: 64 * 1024 * 1024,
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
  const peers = results.variants.filter((variant: { role: string }) => variant.role === 'peer');
  expect(peers.length).toBeGreaterThan(0);
  for (const variant of results.variants as Results['variants']) {
    expect(variant.samples).toHaveLength(results.rounds);
    for (const key of metricKeys) {
      expect(Number.isFinite(variant.median[key])).toBe(true);
      if (variant.role === 'ours') expect(variant.ratio).toHaveProperty(key);
    }
    if (variant.role === 'ours' && peers.length > 1) {
      expect(Object.keys(variant.ratios ?? {})).toEqual(peers.map((peer: { id: string }) => peer.id));
    }
  }
  const svg = await readFile(join(out, `${name}.svg`), 'utf8');
  expect(svg).toMatch(/^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  expect(svg).toContain(results.variants[0].label);
  return results;
}
