import { describe, expect, it } from 'vitest';
import { input, range, stored, storeFixture, view } from './helpers.js';

const store = storeFixture();

describe('group commit', () => {
  it('gives 1,000 concurrent appends distinct dense seqs in call order, with far fewer writes and fsyncs', async () => {
    const dir = await store.dir();
    const log = await store.open({ dir });
    const results = await Promise.all(range(1, 1000).map((n) => log.append('doc', [input(n)])));

    expect(results.map(([entry]) => entry!.seq)).toEqual(range(1, 1000));
    results.forEach(([entry], i) => {
      expect(view(entry!)).toEqual(view(stored(i + 1, i + 1)));
    });
    const { appendedEntries, writes, syncs } = log.stats;
    expect(appendedEntries).toBe(1000);
    // The first append is written alone; everything that queued meanwhile goes in the next write(s).
    expect(writes).toBeLessThanOrEqual(10);
    expect(syncs).toBe(writes);
    await log.close();

    const reopened = await store.open({ dir });
    expect((await reopened.read('doc')).map(view)).toEqual(range(1, 1000).map((n) => view(stored(n, n))));
  });

  it('keeps each multi-entry batch contiguous inside a group', async () => {
    const log = await store.open({ dir: await store.dir() });
    const batches = range(1, 300).map((b) => range(1, 1 + (b % 5)).map((i) => input(b * 10 + i)));
    const results = await Promise.all(batches.map((batch) => log.append('doc', batch)));
    let next = 1;
    results.forEach((result, b) => {
      expect(result.map((entry) => entry.seq)).toEqual(range(next, next + batches[b]!.length - 1));
      next += batches[b]!.length;
    });
    expect(await log.head('doc')).toBe(next - 1);
    expect(log.stats.syncs).toBeLessThan(30);
  });

  it('commits groups of different documents independently', async () => {
    const log = await store.open({ dir: await store.dir() });
    const docs = ['a', 'b', 'c', 'd'];
    await Promise.all(docs.flatMap((docId) => range(1, 250).map((n) => log.append(docId, [input(n)]))));
    for (const docId of docs) {
      expect((await log.read(docId)).map(view)).toEqual(range(1, 250).map((n) => view(stored(n, n))));
    }
    expect(log.stats.syncs).toBeLessThanOrEqual(4 * 10);
  });
});
