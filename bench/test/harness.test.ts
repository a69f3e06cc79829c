import { describe, expect, it } from 'vitest';
import { median, p50, p99, percentile } from '../harness.mjs';
import { runSmoke } from './smoke.js';

// The harness's statistics, and the first two scenarios at smoke size (each further scenario has a
// test file of its own beside this one). redis-append starts its own redis-server and runs
// redis-benchmark: both must be on the PATH.
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

describe('bench scenario trace-load at smoke size', () => {
  it('loads the first 5,000 edits and checks the loaded text in every sample', async () => {
    const results = await runSmoke('trace-load');
    expect(results.params).toMatchObject({ edits: 5_000, entries: 5_001 });
    // Each sample compared the loaded text with the expected one (a mismatch fails the run).
    for (const variant of results.variants) {
      expect(variant.samples.every((sample) => sample.verified === true)).toBe(true);
    }
  });
});

describe('bench scenario redis-append at smoke size', () => {
  it('measures the ceiling in the same run and verifies what Redis stored', async () => {
    const results = await runSmoke('redis-append');
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
  });
});
