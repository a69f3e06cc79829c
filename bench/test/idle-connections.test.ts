import { describe, expect, it } from 'vitest';
import { installNode22First, runSmoke } from './smoke.js';

// idle-connections at smoke size: 20 documents × 10 clients, all synced, then idle; the server's
// RSS before and after, against ystate, the peers (y-websocket 2.1.0 as an older row) and the bare
// relay (the floor).
describe('bench scenario idle-connections at smoke size', () => {
  installNode22First();

  it('connects every client, each gets its document state, and reads the server RSS', async () => {
    const results = await runSmoke('idle-connections', 90_000);
    expect(results.params).toMatchObject({ connections: 200, documents: 20, clientsPerDocument: 10 });
    expect(results.variants.map((variant) => [variant.id, variant.role])).toEqual([
      ['ystate', 'ours'],
      ['y-websocket-server', 'peer'],
      ['hocuspocus-4', 'peer'],
      ['y-websocket-2', 'peer'],
      ['relay', 'floor'],
    ]);
    for (const variant of results.variants) {
      for (const sample of variant.samples) {
        // Every client synced, and the 180 that joined after their document's first client
        // received its state (its marker) in the server's sync step 2.
        expect(sample).toMatchObject({ verified: true, connections: 200, clientsCheckedForState: 180 });
        // At smoke size 200 idle sockets can cost less than a full GC frees, so the RSS after
        // need not exceed the RSS before; the peak (VmHWM) covers every reading, within the
        // kernel's slack (its RSS counters are cached per thread: an earlier VmRSS was seen
        // 0.1 MB above a later VmHWM).
        expect(sample.serverRssBeforeMB).toBeGreaterThan(0);
        for (const reading of [sample.serverRssBeforeMB, sample.serverRssConnectedMB, sample.serverRssMB])
          expect(sample.serverPeakRssMB).toBeGreaterThanOrEqual((reading as number) - 1);
        expect(sample.generatorRssMB).toBeGreaterThan(0);
      }
    }
  }, 100_000);
});
