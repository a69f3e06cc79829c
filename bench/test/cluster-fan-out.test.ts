import { describe, expect, it } from 'vitest';
import { runSmoke } from './smoke.js';

// cluster-fan-out at smoke size: 10 documents × 6 clients spread over three `ystate serve` nodes
// on a three-master Redis Cluster, on one Redis, and one node on one Redis. Needs redis-server
// and redis-cli on the PATH.
describe('bench scenario cluster-fan-out at smoke size', () => {
  it('delivers every update to the other clients of its document exactly once, across nodes', async () => {
    const results = await runSmoke('cluster-fan-out', 120_000);
    expect(results.params).toMatchObject({ documents: 10, clientsPerDocument: 6, connections: 60 });
    expect(results.variants.map((variant) => variant.id)).toEqual(['cluster-3', 'redis-3', 'redis-1']);
    for (const variant of results.variants) {
      for (const sample of variant.samples) {
        expect(sample).toMatchObject({ verified: true, missing: 0, duplicates: 0, unknown: 0 });
        expect(sample.measuredDeliveries).toBe(60 * 5);
        expect(sample.appendCalls).toBeGreaterThanOrEqual(60);
        const nodes = variant.id === 'redis-1' ? 1 : 3;
        expect(sample.nodePeakRssMB).toHaveLength(nodes);
        expect(sample.redisCpuPctEach).toHaveLength(variant.id === 'cluster-3' ? 3 : 1);
        if (nodes === 3) expect(sample.serverCpuPctEach).toHaveLength(3);
      }
    }
    // On the cluster the appends publish on sharded channels, on one Redis on classic ones.
    const calls = (index: number, command: string) => {
      const commands = results.variants[index]?.samples[0]?.redisCommands ?? {};
      return (commands as Record<string, { calls: number } | undefined>)[command]?.calls;
    };
    expect(calls(0, 'spublish')).toBeGreaterThan(0);
    expect(calls(1, 'publish')).toBeGreaterThan(0);
  });
});
