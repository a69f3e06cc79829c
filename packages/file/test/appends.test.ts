import { ErrorCode, isYStateError } from '@ystate/core';
import { describe, expect, it } from 'vitest';
import type { FileIoHooks } from '../src/index.js';
import { IoFaults } from '../src/testing/index.js';
import { input, range, stored, storeFixture, view } from './helpers.js';

const store = storeFixture();

/** Hooks that record the order of the store's writes and fdatasyncs. */
function recorder(): FileIoHooks & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    beforeWrite: (docId) => {
      calls.push(`write ${docId}`);
    },
    beforeSync: (docId) => {
      calls.push(`sync ${docId}`);
    },
  };
}

describe('appends to one document', () => {
  it('run one at a time in call order: 1,000 concurrent appends get dense seqs, one write and one fsync each', async () => {
    const dir = await store.dir();
    const log = await store.open({ dir });
    const results = await Promise.all(range(1, 1000).map((n) => log.append('doc', [input(n)])));

    expect(results.map(([entry]) => entry!.seq)).toEqual(range(1, 1000));
    results.forEach(([entry], i) => {
      expect(view(entry!)).toEqual(view(stored(i + 1, i + 1)));
    });
    // No batching in the store: merging appends is the engine's job.
    expect(log.stats).toEqual({ appendedEntries: 1000, writes: 1000, syncs: 1000 });
    await log.close();

    const reopened = await store.open({ dir });
    expect((await reopened.read('doc')).map(view)).toEqual(range(1, 1000).map((n) => view(stored(n, n))));
  });

  it('keeps each multi-entry batch contiguous', async () => {
    const log = await store.open({ dir: await store.dir() });
    const batches = range(1, 300).map((b) => range(1, 1 + (b % 5)).map((i) => input(b * 10 + i)));
    const results = await Promise.all(batches.map((batch) => log.append('doc', batch)));
    let next = 1;
    results.forEach((result, b) => {
      expect(result.map((entry) => entry.seq)).toEqual(range(next, next + batches[b]!.length - 1));
      next += batches[b]!.length;
    });
    expect(await log.head('doc')).toBe(next - 1);
  });
});

describe('appendMany', () => {
  it('writes every batch first, then issues the fdatasyncs together; each batch gets its own seqs', async () => {
    const hooks = recorder();
    const log = await store.open({ dir: await store.dir(), ioHooks: hooks });
    const docs = ['a', 'b', 'c', 'd'];
    // Open the documents first: a document's first call scans its file before it can write.
    for (const docId of docs) await log.append(docId, [input(1)]);
    hooks.calls.length = 0;

    const results = await log.appendMany(
      docs.map((docId, i) => ({ docId, entries: range(1, i + 1).map((n) => input(10 * i + n)) })),
    );
    // Every write is issued before any fdatasync; the fdatasyncs then run together, in any order.
    expect(hooks.calls.slice(0, docs.length)).toEqual(docs.map((docId) => `write ${docId}`));
    expect(hooks.calls.slice(docs.length).sort()).toEqual(docs.map((docId) => `sync ${docId}`));
    results.forEach((result, i) => {
      expect(result.status).toBe('fulfilled');
      const entries = (result as PromiseFulfilledResult<{ seq: number }[]>).value;
      expect(entries.map((entry) => entry.seq)).toEqual(range(2, i + 2));
    });
    for (const [i, docId] of docs.entries()) {
      expect((await log.read(docId, { from: 2 })).map(view)).toEqual(
        range(1, i + 1).map((n, k) => view(stored(10 * i + n, k + 2))),
      );
    }
  });

  it('settles each batch on its own: a malformed batch and a failed fdatasync store nothing of theirs, the others are stored', async () => {
    const faults = new IoFaults();
    const log = await store.open({ dir: await store.dir(), ioHooks: faults });
    for (const docId of ['a', 'b', 'c']) await log.append(docId, [input(1)]);
    faults.failNextSync({ docId: 'b' });
    const results = await log.appendMany([
      { docId: 'a', entries: [input(2), input(3)] },
      { docId: 'b', entries: [input(2), input(3)] },
      { docId: 'c', entries: [input(2), { ...input(3), time: -1 }] },
      { docId: 'a', entries: [input(4)] },
    ]);
    expect(results.map((result) => result.status)).toEqual([
      'fulfilled',
      'rejected',
      'rejected',
      'fulfilled',
    ]);
    const reasons = results.map((result) => (result.status === 'rejected' ? result.reason : undefined));
    expect(isYStateError(reasons[1], ErrorCode.STORAGE_FAILED)).toBe(true);
    expect(isYStateError(reasons[2], ErrorCode.INVALID_VALUE)).toBe(true);
    // Batches of one document are appended in the order given.
    expect((await log.read('a')).map(view)).toEqual(range(1, 4).map((n) => view(stored(n, n))));
    expect((await log.read('b')).map(view)).toEqual([view(stored(1, 1))]);
    expect((await log.read('c')).map(view)).toEqual([view(stored(1, 1))]);
    expect(seqsOf(await log.append('b', [input(5)]))).toEqual([2]);
  });

  it('settles every batch with DOCUMENT_CLOSED after close, and an empty list with []', async () => {
    const log = await store.open({ dir: await store.dir() });
    expect(await log.appendMany([])).toEqual([]);
    await log.close();
    const results = await log.appendMany([{ docId: 'a', entries: [input(1)] }]);
    expect(results).toHaveLength(1);
    expect(
      results[0]!.status === 'rejected' && isYStateError(results[0]!.reason, ErrorCode.DOCUMENT_CLOSED),
    ).toBe(true);
  });
});

function seqsOf(entries: readonly { seq: number }[]): number[] {
  return entries.map((entry) => entry.seq);
}
