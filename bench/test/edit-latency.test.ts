import { describe, expect, it } from 'vitest';
import { installNode22First, runSmoke } from './smoke.js';

// Starts its own redis-server (it must be on the PATH), two ystate nodes, two Hocuspocus 4 nodes (on
// Node 22) and two Hocuspocus 3 nodes on it, and measures with the real client libraries (y-websocket's provider, Hocuspocus's).
describe('bench scenario edit-latency at smoke size', () => {
  installNode22First();

  it('measures every edit across nodes and on the same node, and checks the readers end with the writer’s text', async () => {
    const results = await runSmoke('edit-latency');
    expect(results.params).toMatchObject({ edits: 60, warmupEdits: 10, intervalMs: 20 });
    expect(results.variants.map((variant) => variant.id)).toEqual(['ystate', 'hocuspocus-4', 'hocuspocus-3']);
    for (const variant of results.variants) {
      for (const sample of variant.samples) {
        // Both readers held the writer's exact text (a mismatch fails the run), and a latency was
        // recorded for every measured edit (warm-up edits not counted).
        expect(sample).toMatchObject({ verified: true, edits: 60, textLength: 70 });
        expect(sample.p50Ms).toBeGreaterThan(0);
        expect(sample.p99Ms as number).toBeGreaterThanOrEqual(sample.p50Ms as number);
        expect(sample.maxMs as number).toBeGreaterThanOrEqual(sample.p99Ms as number);
        expect(sample.sameNodeP50Ms).toBeGreaterThan(0);
        // What the load generator cost is part of every sample.
        expect(sample.generatorCpuPct).toBeGreaterThan(0);
        expect(sample.generatorMaxBlockMs).toBeGreaterThanOrEqual(0);
      }
    }
    // ystate's own metrics saw every measured edit arrive on node A.
    const ours = results.variants.find((variant) => variant.role === 'ours');
    for (const sample of ours?.samples ?? []) expect(sample.ystateUpdates).toBe(60);
  }, 130_000);
});
