import { describe, expect, it } from 'vitest';
import { installNode22First, runSmoke } from './smoke.js';

// Restarts a server under 50 connected clients (5 documents × 10) and reconnects them all at once:
// ystate (file store, and on a redis-server it starts, which must be on the PATH), the
// y-websocket reference server (@y/websocket-server) and Hocuspocus 4.
describe('bench scenario reconnect-storm at smoke size', () => {
  installNode22First();

  it('syncs every client after the restart and finds every document complete on the server', async () => {
    const results = await runSmoke('reconnect-storm');
    expect(results.params).toMatchObject({ clients: 50, documents: 5, clientsPerDocument: 10 });
    expect(results.variants.map((variant) => variant.id)).toEqual([
      'ystate-file',
      'ystate-redis',
      'y-websocket-server',
      'hocuspocus-4',
    ]);
    for (const variant of results.variants) {
      for (const sample of variant.samples) {
        // Every client synced after the restart, every document's state was back on the server,
        // and a real provider read each document's exact text from it (a mismatch fails the run).
        expect(sample).toMatchObject({ verified: true, clients: 50, synced: 50 });
        expect(sample.restartToSyncedMs as number).toBeGreaterThan(sample.syncedMs as number);
        expect(sample.stateBackMs as number).toBeGreaterThanOrEqual(sample.syncedMs as number);
        // The server was sampled during the storm, and the generator's cost recorded.
        expect(sample.cpuSamples as number).toBeGreaterThanOrEqual(2);
        expect(sample.peakRssMB).toBeGreaterThan(0);
        expect(sample.generatorCpuSeconds as number).toBeGreaterThan(0);
      }
    }
  }, 130_000);
});
