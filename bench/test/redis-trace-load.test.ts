import { describe, expect, it } from 'vitest';
import { runSmoke } from './smoke.js';

// Starts its own redis-server (on the PATH, or REDIS_SERVER_BIN) and y-redis's ioredis client.
describe('bench scenario redis-trace-load at smoke size', () => {
  it('loads the first 5,000 edits from Redis in every variant and checks the loaded text', async () => {
    const results = await runSmoke('redis-trace-load');
    expect(results.params).toMatchObject({
      edits: 5_000,
      entries: 5_001,
      checkpointSeq: 5_000,
      tailEntries: 1,
    });
    expect(results.variants.map((variant) => variant.id)).toEqual(['ystate', 'ystate-checkpoint', 'y-redis']);
    for (const variant of results.variants) {
      // Each sample compared the loaded text with the expected one (a mismatch fails the run)…
      expect(variant.samples.every((sample) => sample.verified === true)).toBe(true);
      // …and the parent read what Redis spent on it.
      for (const sample of variant.samples) {
        expect(sample.redisCpuMs).toBeGreaterThan(0);
        expect(sample).toHaveProperty('redisLongestCommandMs');
      }
    }
  });
});
