import { describe, expect, it } from 'vitest';
import { runSmoke } from './smoke.js';

// Starts `ystate serve` and the y-websocket reference server as processes of their own.
describe('bench scenario large-state at smoke size', () => {
  it('loads, streams deltas and delivers field updates on a 1 MB state, checking each', async () => {
    const results = await runSmoke('large-state');
    expect(results.params).toMatchObject({ stateMB: 1, deltaSizesMB: [0.1, 0.3, 1] });
    const states = results.params.states as { mb: number; jsonBytes: number; records: number }[];
    for (const state of states) {
      // Records were added until the JSON reached the size asked for (within one record).
      expect(state.jsonBytes).toBeGreaterThanOrEqual(state.mb * 1e6);
      expect(state.jsonBytes).toBeLessThan(state.mb * 1e6 + 2000);
    }
    for (const variant of results.variants) {
      for (const sample of variant.samples) {
        // The loaded states matched the built ones, every delta was exactly the one field's
        // `replace`, and every field update reached the reader (a miss fails the run).
        expect(sample.verified).toBe(true);
        expect(sample.latencyCount).toBe(100);
        const deltas = sample.deltas as { mb: number; count: number }[];
        expect(deltas.map((delta) => delta.mb)).toEqual([0.1, 0.3, 1]);
        expect(deltas.every((delta) => delta.count > 0)).toBe(true);
        // What the load generator cost is recorded with the sample.
        expect(sample.generatorCpuPercent).toBeGreaterThan(0);
        expect(sample).toHaveProperty('generatorMaxBlockMs');
        if (variant.role === 'ours') {
          // The server logged every update it was sent: setup marker, warm-up and measured ones.
          expect(sample.serverAppendedEntries).toBe(1 + 10 + 100);
        }
      }
    }
  });
});
