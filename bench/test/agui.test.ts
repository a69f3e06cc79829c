import { describe, expect, it } from 'vitest';
import { runSmoke } from './smoke.js';

// Starts `ystate serve` (twice: the HttpAgent check, then each fan-out sample) and the peer's
// node:http server (agui-peer-server.mjs), each on a free port.
describe('bench scenario agui at smoke size', () => {
  it('counts deltas and fan-out deliveries, and checks every stream with @ag-ui/client', async () => {
    const results = await runSmoke('agui');
    expect(results.params).toMatchObject({
      deltas: { changes: 200, burst: 32, bursts: 4 },
      fanout: { subscribers: 50, changes: 20 },
    });
    // A real HttpAgent ran against ystate serve's POST /agui and ended with the document's state.
    expect(results.setup).toMatchObject({ httpAgentCheck: { ok: true } });
    const byId = (id: string) => results.variants.find((variant) => variant.id === id);
    for (const variant of results.variants) {
      for (const sample of variant.samples) {
        // (a) checked one delta per closed-loop change and the final states (a mismatch fails
        // the run); (b) every subscriber got every marker once, in a STATE_DELTA, and the checker
        // (@ag-ui/client's transport, EventSchema, fast-json-patch) ended with the expected state.
        expect(sample).toMatchObject({
          verified: true,
          expectedDeliveries: 50 * 20,
          deliveries: 50 * 20,
          duplicates: 0,
          resyncs: 0,
          checker: { ok: true, stateEqual: true, invalid: [], failedPatches: [] },
        });
        expect(sample.serverCpuPct).toBeGreaterThan(0);
        expect(sample.generatorCpuPct).toBeGreaterThan(0);
      }
    }
    // Coalescing: ystate sends one delta per commit (concurrent writes commit together), the peer
    // one per change.
    for (const sample of byId('ystate')?.samples ?? []) {
      expect(sample.burstDeltas).toBeLessThan(sample.burstChanges as number);
      expect(sample.burstOps).toBe(sample.burstChanges);
    }
    for (const sample of byId('peer')?.samples ?? []) {
      expect(sample.burstDeltas).toBe(sample.burstChanges);
    }
  });
});
