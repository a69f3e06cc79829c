import { open as openFile, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { ErrorCode, isYStateError } from '@ystate/core';
import { describe, expect, it, vi } from 'vitest';
import { HEADER_SIZE } from '../src/record.js';
import { IoFaults } from '../src/testing/index.js';
import { checkpointAt, input, range, stored, storeFixture, view } from './helpers.js';

const store = storeFixture();

/** Resolves with the rejection of `promise`, failing when it fulfils. */
async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

async function expectCode(promise: Promise<unknown>, code: ErrorCode): Promise<void> {
  const error = await rejection(promise);
  expect(isYStateError(error, code), String(error)).toBe(true);
}

describe('FileUpdateLog files', () => {
  it('stores each document in one log file under the store directory and reads it back after reopen', async () => {
    const dir = await store.dir();
    const log = await store.open({ dir });
    await log.append('projects/42', [input(1), input(2)]);
    await log.append('projects/42', [input(3)]);
    await log.close();
    expect((await readdir(dir)).sort()).toEqual(['projects%2F42.log']);

    const reopened = await store.open({ dir });
    expect(await reopened.head('projects/42')).toBe(3);
    expect((await reopened.read('projects/42')).map(view)).toEqual(
      range(1, 3).map((n) => view(stored(n, n))),
    );
  });

  const awkwardIds = [
    'projects/42',
    'a b/é',
    '..',
    '.',
    '../escape',
    '../../etc/passwd',
    '/absolute/path',
    'a/../../b',
    'back\\slash',
    'CON',
    'con',
    'nul.txt',
    'Doc',
    'doc',
    'DOC',
    '.hidden',
    'x.log',
    'x.ckpt.tmp',
    'LOCK',
    '%41',
    '%',
    'a%2Fb',
    'tab\tnew\nline',
    'emoji 🚀 ✓',
    '日本語/ドキュメント',
    'a*b?c:d|e"f<g>h',
    "it's (fine) ~!",
  ];

  it('keeps docIds with slashes, dots, case, unicode and reserved names apart, listed back exactly', async () => {
    const root = await store.dir();
    const dir = join(root, 'store');
    const log = await store.open({ dir });
    for (const [i, docId] of awkwardIds.entries()) await log.append(docId, [input(i)]);
    expect(await log.docIds()).toEqual([...awkwardIds].sort());
    await log.close();

    // Nothing escaped: the parent holds only the store, and the store one flat file per document.
    expect(await readdir(root)).toEqual(['store']);
    const names = await readdir(dir);
    expect(names).toHaveLength(awkwardIds.length);
    // Lower-case letters, digits, a few marks and %XX escapes: no separator, no dot before the suffix.
    for (const name of names) expect(name).toMatch(/^(?:[a-z0-9\-_!~'()]|%[0-9A-F]{2})+\.log$/);

    const reopened = await store.open({ dir });
    expect(await reopened.docIds()).toEqual([...awkwardIds].sort());
    for (const [i, docId] of awkwardIds.entries()) {
      expect((await reopened.read(docId)).map(view), docId).toEqual([view(stored(i, 1))]);
    }
  });

  it('refuses docIds that cannot be file names with INVALID_VALUE, creating nothing', async () => {
    const dir = await store.dir();
    const log = await store.open({ dir });
    for (const docId of ['', '\uD800', 'x'.repeat(241), 'é'.repeat(50)]) {
      await expectCode(log.append(docId, [input(1)]), ErrorCode.INVALID_VALUE);
      await expectCode(log.read(docId), ErrorCode.INVALID_VALUE);
    }
    expect(await log.docIds()).toEqual([]);
    expect(await readdir(dir)).toEqual(['LOCK']);
    // The longest id that fits.
    await log.append('x'.repeat(240), [input(1)]);
    expect(await log.docIds()).toEqual(['x'.repeat(240)]);
  });

  it('ignores files in the directory that are not document files', async () => {
    const dir = await store.dir();
    const log = await store.open({ dir });
    await log.append('a', [input(1)]);
    await writeFile(join(dir, 'README.txt'), 'hello');
    await writeFile(join(dir, 'Upper.log'), 'not ours');
    await writeFile(join(dir, '%zz.log'), 'not ours');
    expect(await log.docIds()).toEqual(['a']);
  });
});

describe('FileUpdateLog reads', () => {
  it('reads a range by seeking: a damaged record elsewhere in the file does not matter, and is caught when read', async () => {
    const dir = await store.dir();
    const log = await store.open({ dir });
    for (let batch = 0; batch < 20; batch += 1) {
      await log.append(
        'big',
        range(batch * 100 + 1, batch * 100 + 100).map((n) => input(n, 512)),
      );
    }
    await log.close();

    const reopened = await store.open({ dir });
    expect(await reopened.head('big')).toBe(2000);
    // Damage a byte in the payload of the first record, after the index was built.
    const file = await openFile(join(dir, 'big.log'), 'r+');
    await file.write(Uint8Array.of(0xee), 0, 1, HEADER_SIZE + 8 + 20);
    await file.close();

    expect((await reopened.read('big', { from: 1990, to: 1995 })).map(view)).toEqual(
      range(1990, 1995).map((n) => view(stored(n, n, 512))),
    );
    await expectCode(reopened.read('big', { from: 1, to: 2 }), ErrorCode.CORRUPT_ENTRY);
  });

  it('reads while appends are in flight, seeing only whole entries', async () => {
    const dir = await store.dir();
    const log = await store.open({ dir });
    const appends = range(1, 200).map((n) => log.append('doc', [input(n, 64)]));
    const reads = range(1, 20).map(() => log.read('doc'));
    await Promise.all(appends);
    for (const read of await Promise.all(reads)) {
      expect(read.map((entry) => entry.seq)).toEqual(range(1, read.length));
      for (const entry of read) expect(entry.payload).toHaveLength(64);
    }
  });

  it('rejects NaN bounds with INVALID_VALUE', async () => {
    const log = await store.open({ dir: await store.dir() });
    await expectCode(log.read('doc', { from: Number.NaN }), ErrorCode.INVALID_VALUE);
    await expectCode(log.latestCheckpoint('doc', Number.NaN), ErrorCode.INVALID_VALUE);
    await expectCode(log.prune('doc', Number.NaN), ErrorCode.INVALID_VALUE);
  });
});

describe('FileUpdateLog appends', () => {
  it('refuses a batch with any malformed entry as a whole, with INVALID_VALUE', async () => {
    const log = await store.open({ dir: await store.dir() });
    const bad = [
      { ...input(2), time: -1 },
      { ...input(2), time: 1.5 },
      { ...input(2), kind: 'other' },
      { ...input(2), flags: 2 },
      { ...input(2), keyId: 'k' },
      { ...input(2), payload: [1, 2] },
    ];
    for (const entry of bad) {
      await expectCode(log.append('doc', [input(1), entry as never]), ErrorCode.INVALID_VALUE);
    }
    expect(await log.head('doc')).toBe(0);
    expect(await log.docIds()).toEqual([]);
  });

  it('writes the payload as it was at the call, even when the caller reuses its buffer', async () => {
    const log = await store.open({ dir: await store.dir() });
    const payload = Uint8Array.of(1, 2, 3);
    const pending = log.append('doc', [{ ...input(1), payload }]);
    payload.fill(9);
    await pending;
    expect(Array.from((await log.read('doc'))[0]!.payload)).toEqual([1, 2, 3]);
  });

  it('fsyncs once per append with "always", never with "never", and on a timer with "interval"', async () => {
    const always = await store.open({ dir: await store.dir() });
    for (const n of range(1, 10)) await always.append('doc', [input(n)]);
    expect(always.stats).toEqual({ appendedEntries: 10, writes: 10, syncs: 10 });

    const never = await store.open({ dir: await store.dir(), fsync: 'never' });
    for (const n of range(1, 10)) await never.append('doc', [input(n)]);
    await never.close();
    expect(never.stats).toEqual({ appendedEntries: 10, writes: 10, syncs: 0 });

    const interval = await store.open({ dir: await store.dir(), fsync: 'interval', fsyncIntervalMs: 10 });
    for (const n of range(1, 10)) await interval.append('doc', [input(n)]);
    expect(interval.stats.writes).toBe(10);
    await vi.waitFor(() => expect(interval.stats.syncs).toBeGreaterThan(0), { timeout: 5_000, interval: 5 });
    expect(interval.stats.syncs).toBeLessThan(10);
  });

  it('fsyncs unsynced "interval" appends on close, and they survive reopen', async () => {
    const dir = await store.dir();
    const log = await store.open({ dir, fsync: 'interval', fsyncIntervalMs: 60_000 });
    await log.append('doc', [input(1), input(2)]);
    expect(log.stats.syncs).toBe(0);
    await log.close();
    expect(log.stats.syncs).toBe(1);
    const reopened = await store.open({ dir, fsync: 'interval' });
    expect(await reopened.head('doc')).toBe(2);
  });

  it('keeps at most maxOpenDocuments documents open and serves the others by reopening them', async () => {
    const dir = await store.dir();
    const openFiles = async () =>
      process.platform === 'linux' ? (await readdir('/proc/self/fd')).length : 0;
    const before = await openFiles();
    const log = await store.open({ dir, maxOpenDocuments: 2 });
    const docs = range(1, 8).map((i) => `doc-${i}`);
    for (const round of range(1, 3)) {
      await Promise.all(docs.map((docId) => log.append(docId, [input(round)])));
    }
    for (const docId of docs) {
      expect((await log.read(docId)).map(view)).toEqual(range(1, 3).map((n) => view(stored(n, n))));
    }
    // Evicted documents close their handles in the background; wait for that, as an event.
    await vi.waitFor(async () => expect(await openFiles()).toBeLessThanOrEqual(before + 2), { interval: 5 });
  });
});

describe('FileUpdateLog checkpoints and prune', () => {
  it('keeps the newest checkpoints when the file is rewritten, across reopen', async () => {
    const dir = await store.dir();
    const log = await store.open({ dir, keepCheckpoints: 3 });
    await log.append(
      'doc',
      range(1, 20).map((n) => input(n)),
    );
    for (const seq of range(1, 20)) await log.storeCheckpoint('doc', checkpointAt(seq));
    const check = async (reader: typeof log) => {
      for (const seq of [18, 19, 20]) {
        expect(view((await reader.latestCheckpoint('doc', seq))!)).toEqual(view(checkpointAt(seq)));
      }
      // Never more than 2 × keepCheckpoints stay: older ones are gone.
      expect(await reader.latestCheckpoint('doc', 14)).toBeUndefined();
    };
    await check(log);
    expect((await stat(join(dir, 'doc.ckpt'))).size).toBeLessThan(HEADER_SIZE + 6 * 64);
    await log.close();
    await check(await store.open({ dir, keepCheckpoints: 3 }));
  });

  it('lets a later checkpoint at the same seq supersede the earlier', async () => {
    const dir = await store.dir();
    const log = await store.open({ dir });
    await log.append('doc', [input(1), input(2)]);
    await log.storeCheckpoint('doc', checkpointAt(2));
    const replacement = { ...checkpointAt(2), origin: 'second' };
    await log.storeCheckpoint('doc', replacement);
    expect(view((await log.latestCheckpoint('doc'))!)).toEqual(view(replacement));
    await log.close();
    const reopened = await store.open({ dir });
    expect(view((await reopened.latestCheckpoint('doc'))!)).toEqual(view(replacement));
  });

  it('refuses checkpoints of another kind or past the head with INVALID_VALUE', async () => {
    const log = await store.open({ dir: await store.dir() });
    await log.append('doc', [input(1)]);
    await expectCode(
      log.storeCheckpoint('doc', { ...checkpointAt(1), kind: 'update' }),
      ErrorCode.INVALID_VALUE,
    );
    await expectCode(log.storeCheckpoint('doc', checkpointAt(2)), ErrorCode.INVALID_VALUE);
    await expectCode(log.storeCheckpoint('doc', checkpointAt(0)), ErrorCode.INVALID_VALUE);
    expect(await log.latestCheckpoint('doc')).toBeUndefined();
  });

  it('shrinks the file on prune and keeps head exact across reopen, even with everything pruned', async () => {
    const dir = await store.dir();
    const log = await store.open({ dir });
    await log.append(
      'doc',
      range(1, 100).map((n) => input(n, 100)),
    );
    const before = (await stat(join(dir, 'doc.log'))).size;
    await log.prune('doc', 91);
    expect((await stat(join(dir, 'doc.log'))).size).toBeLessThan(before / 5);
    await log.close();

    const reopened = await store.open({ dir });
    expect(await reopened.head('doc')).toBe(100);
    expect((await reopened.read('doc')).map((entry) => entry.seq)).toEqual(range(91, 100));
    await reopened.prune('doc', 1000);
    await reopened.close();
    expect((await stat(join(dir, 'doc.log'))).size).toBe(HEADER_SIZE);

    const again = await store.open({ dir });
    expect(await again.head('doc')).toBe(100);
    expect(await again.read('doc')).toEqual([]);
    expect((await again.append('doc', [input(101)])).map((entry) => entry.seq)).toEqual([101]);
    expect(await again.docIds()).toEqual(['doc']);
  });

  it('prunes while appends are in flight without losing or renumbering any', async () => {
    const log = await store.open({ dir: await store.dir() });
    await log.append(
      'doc',
      range(1, 50).map((n) => input(n)),
    );
    const appends = range(51, 250).map((n) => log.append('doc', [input(n)]));
    const prune = log.prune('doc', 40);
    const results = await Promise.all(appends);
    await prune;
    expect(results.map(([entry]) => entry!.seq)).toEqual(range(51, 250));
    expect((await log.read('doc')).map(view)).toEqual(range(40, 250).map((n) => view(stored(n, n))));
  });
});

describe('FileUpdateLog lifecycle and errors', () => {
  it('rejects calls after close with DOCUMENT_CLOSED; closing twice is harmless', async () => {
    const log = await store.open({ dir: await store.dir() });
    await log.append('doc', [input(1)]);
    await log.close();
    await log.close();
    await expectCode(log.append('doc', [input(2)]), ErrorCode.DOCUMENT_CLOSED);
    await expectCode(log.read('doc'), ErrorCode.DOCUMENT_CLOSED);
    await expectCode(log.docIds(), ErrorCode.DOCUMENT_CLOSED);
  });

  it('finishes appends queued before close', async () => {
    const dir = await store.dir();
    const log = await store.open({ dir });
    const appends = range(1, 50).map((n) => log.append('doc', [input(n)]));
    await log.close();
    expect((await Promise.all(appends)).flat().map((entry) => entry.seq)).toEqual(range(1, 50));
    expect(await (await store.open({ dir })).head('doc')).toBe(50);
  });

  it('refuses a second open of the same directory with STORE_LOCKED until the first is closed', async () => {
    const dir = await store.dir();
    const log = await store.open({ dir });
    await expectCode(store.open({ dir }), ErrorCode.STORE_LOCKED);
    await log.close();
    const reopened = await store.open({ dir });
    expect(await reopened.docIds()).toEqual([]);
  });

  it('takes over a LOCK left by a process that no longer runs', async () => {
    const dir = await store.dir();
    await writeFile(join(dir, 'LOCK'), '2147483646\n');
    const log = await store.open({ dir });
    expect(await readFile(join(dir, 'LOCK'), 'utf8')).toBe(`${process.pid}\n`);
    await log.close();
    expect(await readdir(dir)).toEqual([]);
  });

  it('refuses bad options with INVALID_CONFIG', async () => {
    const dir = await store.dir();
    const bad = [
      { dir: '' },
      { dir, fsync: 'sometimes' },
      { dir, fsyncIntervalMs: 0 },
      { dir, keepCheckpoints: 0 },
      { dir, maxOpenDocuments: 1.5 },
    ];
    for (const options of bad) await expectCode(store.open(options as never), ErrorCode.INVALID_CONFIG);
  });

  it('reports I/O failures as STORAGE_FAILED with the cause', async () => {
    const dir = await store.dir();
    const file = join(dir, 'not-a-directory');
    await writeFile(file, '');
    const error = await rejection(store.open({ dir: file }));
    expect(isYStateError(error, ErrorCode.STORAGE_FAILED)).toBe(true);
    expect((error as Error).cause).toMatchObject({ code: expect.stringMatching(/^E/) });
  });

  it('rejects an append whose fsync fails with STORAGE_FAILED, cuts it off the file and carries on', async () => {
    const dir = await store.dir();
    const faults = new IoFaults();
    const log = await store.open({ dir, ioHooks: faults });
    await log.append('doc', [input(1), input(2)]);
    const sizeBefore = (await stat(join(dir, 'doc.log'))).size;
    faults.failNextSync({ docId: 'doc' });
    const error = await rejection(log.append('doc', [input(3)]));
    expect(isYStateError(error, ErrorCode.STORAGE_FAILED)).toBe(true);
    expect((error as Error).cause).toMatchObject({ code: 'EIO', syscall: 'fdatasync' });
    expect((await stat(join(dir, 'doc.log'))).size).toBe(sizeBefore);
    expect((await log.append('doc', [input(4)])).map((entry) => entry.seq)).toEqual([3]);
    await log.close();
    const reopened = await store.open({ dir });
    expect((await reopened.read('doc')).map(view)).toEqual([
      view(stored(1, 1)),
      view(stored(2, 2)),
      view(stored(4, 3)),
    ]);
  });

  it('reports a failed "interval" fsync to the next append of the document', async () => {
    const dir = await store.dir();
    const faults = new IoFaults();
    const log = await store.open({ dir, fsync: 'interval', fsyncIntervalMs: 5, ioHooks: faults });
    await log.append('doc', [input(1)]);
    faults.failNextSync({ docId: 'doc' });
    await log.append('doc', [input(2)]);
    await vi.waitFor(() => expect(faults.failed).toBe(1), { interval: 5 });
    // Let the failed round finish (its promise chain settles within the microtask queue).
    await new Promise((resolve) => setImmediate(resolve));
    const error = await rejection(log.append('doc', [input(3)]));
    expect(isYStateError(error, ErrorCode.STORAGE_FAILED)).toBe(true);
    expect((error as Error).cause).toMatchObject({ code: 'EIO', syscall: 'fdatasync' });
    // The failure was reported once; appends carry on after the entries in the file.
    expect((await log.append('doc', [input(4)])).map((entry) => entry.seq)).toEqual([3]);
  });

  it('refuses a log file that is not one of its own with CORRUPT_ENTRY, leaving it untouched', async () => {
    const dir = await store.dir();
    await writeFile(join(dir, 'doc.log'), 'this is not a ystate log, just text');
    const log = await store.open({ dir });
    await expectCode(log.read('doc'), ErrorCode.CORRUPT_ENTRY);
    await expectCode(log.append('doc', [input(1)]), ErrorCode.CORRUPT_ENTRY);
    expect(await readFile(join(dir, 'doc.log'), 'utf8')).toBe('this is not a ystate log, just text');
    expect(dirname(join(dir, 'doc.log'))).toBe(dir);
  });
});
