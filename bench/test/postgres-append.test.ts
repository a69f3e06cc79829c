import { describe, expect, it } from 'vitest';
import { runSmoke } from './smoke.js';

// Starts a PostgreSQL cluster of its own (initdb on a free port; a database on a running server
// when that cannot be done).
describe('bench scenario postgres-append at smoke size', () => {
  it('appends each round to every document, both ways, and checks every document holds dense seqs', async () => {
    const results = await runSmoke('postgres-append');
    expect(results.params).toMatchObject({ documents: 20, roundsPerSample: 10 });
    expect(results.variants.map((variant) => [variant.id, variant.role])).toEqual([
      ['append-many', 'ours'],
      ['append-each', 'peer'],
    ]);
    for (const variant of results.variants) {
      for (const sample of variant.samples) {
        expect(sample.verified).toBe(true);
        expect(sample.roundP99Ms).toBeGreaterThanOrEqual(sample.roundMedianMs as number);
      }
    }
  });
});
