import { describe, expect, it } from 'vitest';
import { installNode22First, runSmoke } from './smoke.js';

// fan-out-many at smoke size: 10 documents × 5 clients, every client writing 1 update/s for one
// measured second (plus a warm-up), against ystate (file store and Redis), the peers (the
// y-websocket reference server, Hocuspocus 4 and, as an older row, Hocuspocus 3) and the bare
// relay (the floor). Needs redis-server on the PATH.
describe('bench scenario fan-out-many at smoke size', () => {
  installNode22First();

  it('delivers every update to the other clients of its document exactly once', async () => {
    const results = await runSmoke('fan-out-many', 150_000);
    expect(results.params).toMatchObject({
      documents: 10,
      clientsPerDocument: 5,
      connections: 50,
      updatesPerSecond: 50,
      measuredUpdates: 50,
      measuredDeliveries: 200,
    });
    expect(results.variants.map((variant) => [variant.id, variant.role])).toEqual([
      ['ystate', 'ours'],
      ['ystate-fsync-interval', 'ours'],
      ['ystate-redis', 'ours'],
      ['y-websocket-server', 'peer'],
      ['hocuspocus-4', 'peer'],
      ['hocuspocus-3', 'peer'],
      ['relay', 'floor'],
    ]);
    for (const variant of results.variants) {
      for (const sample of variant.samples) {
        // Every update reached each of the 4 other clients of its document once; a writer's own
        // updates sent back to it are counted apart, never as deliveries.
        expect(sample).toMatchObject({ verified: true, missing: 0, duplicates: 0, unknown: 0 });
        expect(sample.delivered).toBe(sample.expectedDeliveries);
        expect(sample.expectedDeliveries).toBe(70 * 4); // 20 warm-up + 50 measured updates
        expect(sample.measuredDeliveries).toBe(200);
        for (const key of ['serverCpuPct', 'generatorCpuPct', 'generatorMaxBlockMs', 'lateSends']) {
          expect(Number.isFinite(sample[key])).toBe(true);
        }
      }
    }
    for (const id of ['ystate', 'ystate-redis']) {
      const variant = results.variants.find((v) => v.id === id);
      expect(Object.keys(variant?.ratios ?? {})).toEqual([
        'y-websocket-server',
        'hocuspocus-4',
        'hocuspocus-3',
      ]);
      for (const sample of variant?.samples ?? []) {
        const report = sample.ystate as { receiveToBroadcast: { count: number } };
        expect(report.receiveToBroadcast.count).toBeGreaterThan(0);
      }
    }
  }, 160_000);
});
