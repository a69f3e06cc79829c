/**
 * A failed append leaves the log exactly as it was: injected EIO on write and on fdatasync, and a
 * real full disk (a 3 MB tmpfs) that is freed again.
 */

import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type EntryInput, ErrorCode, isRetryable, isYStateError, type LogEntry } from '@ystate/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RecoveryReport } from '../src/index.js';
import { IoFaults } from '../src/testing/index.js';
import { input, range, stored, storeFixture, view } from './helpers.js';

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

function expectStorageFailed(error: unknown, code: string): void {
  expect(isYStateError(error, ErrorCode.STORAGE_FAILED), String(error)).toBe(true);
  expect(isRetryable(error)).toBe(false);
  expect((error as Error).cause).toMatchObject({ code });
}

describe('an append whose write or fdatasync fails', () => {
  for (const failing of ['write', 'fdatasync'] as const) {
    it(`stores nothing of the batch when its ${failing} fails with EIO, and the store keeps working`, async () => {
      const dir = await store.dir();
      const faults = new IoFaults();
      const log = await store.open({ dir, ioHooks: faults });
      await log.append('doc', [input(1), input(2)]);
      const size = (await stat(join(dir, 'doc.log'))).size;

      if (failing === 'write') faults.failNextWrite({ docId: 'doc' });
      else faults.failNextSync({ docId: 'doc' });
      expectStorageFailed(await rejection(log.append('doc', [input(3), input(4), input(5)])), 'EIO');
      expect(faults.pending).toBe(0);

      expect((await stat(join(dir, 'doc.log'))).size).toBe(size);
      expect(await log.head('doc')).toBe(2);
      expect((await log.read('doc')).map(view)).toEqual([view(stored(1, 1)), view(stored(2, 2))]);
      expect((await log.append('doc', [input(6)])).map((entry) => entry.seq)).toEqual([3]);
      await log.close();

      const reopened = await store.open({ dir });
      expect((await reopened.read('doc')).map(view)).toEqual([
        view(stored(1, 1)),
        view(stored(2, 2)),
        view(stored(6, 3)),
      ]);
    });
  }

  it('removes the file a failed first append created, so the document does not appear', async () => {
    const dir = await store.dir();
    const faults = new IoFaults();
    const log = await store.open({ dir, ioHooks: faults });
    faults.failNextSync();
    expectStorageFailed(await rejection(log.append('new', [input(1)])), 'EIO');
    expect(await log.docIds()).toEqual([]);
    expect(await readdir(dir)).toEqual(['LOCK']);
    expect(await log.head('new')).toBe(0);
    expect((await log.append('new', [input(2)])).map(view)).toEqual([view(stored(2, 1))]);
  });

  it('cuts the failed batch off before the next append even when the first cut could not be fsynced', async () => {
    const dir = await store.dir();
    const faults = new IoFaults();
    const log = await store.open({ dir, ioHooks: faults });
    await log.append('doc', [input(1)]);
    // The batch's fdatasync fails, and so does the one after cutting it off; the third works.
    faults.failNextSync({ docId: 'doc', times: 2 });
    expectStorageFailed(await rejection(log.append('doc', [input(2)])), 'EIO');
    expect(faults.failed).toBe(2);
    expect((await log.append('doc', [input(3)])).map((entry) => entry.seq)).toEqual([2]);
    await log.close();
    const reopened = await store.open({ dir });
    expect((await reopened.read('doc')).map(view)).toEqual([view(stored(1, 1)), view(stored(3, 2))]);
  });

  it('fails an append with STORAGE_FAILED as long as the cut cannot be fsynced, without writing', async () => {
    const dir = await store.dir();
    const faults = new IoFaults();
    const log = await store.open({ dir, ioHooks: faults });
    await log.append('doc', [input(1)]);
    faults.failNextSync({ docId: 'doc', times: 3 });
    expectStorageFailed(await rejection(log.append('doc', [input(2)])), 'EIO');
    // The pending cut runs first and fails again: this append writes nothing.
    expectStorageFailed(await rejection(log.append('doc', [input(3)])), 'EIO');
    expect(log.stats.writes).toBe(2);
    expect((await log.append('doc', [input(4)])).map((entry) => entry.seq)).toEqual([2]);
    expect((await log.read('doc')).map(view)).toEqual([view(stored(1, 1)), view(stored(4, 2))]);
  });
});

describe('a full disk (3 MB tmpfs)', () => {
  let mountPoint: string | undefined;
  let mountError: string | undefined;

  beforeAll(async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ystate-file-tmpfs-'));
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=3m', 'tmpfs', dir], { stdio: 'pipe' });
      mountPoint = dir;
    } catch (error) {
      mountError = String((error as { stderr?: Buffer }).stderr ?? error).trim();
      await rm(dir, { recursive: true, force: true });
    }
  });

  afterAll(async () => {
    if (mountPoint === undefined) return;
    execFileSync('umount', [mountPoint], { stdio: 'pipe' });
    await rm(mountPoint, { recursive: true, force: true });
  });

  it('refuses appends with STORAGE_FAILED while full, keeps every acknowledged one and nothing else, and goes on once space is freed', async ({
    skip,
  }) => {
    if (mountPoint === undefined) {
      skip(`cannot mount a tmpfs here (needs root or CAP_SYS_ADMIN): ${mountError}`);
      return;
    }
    const dir = join(mountPoint, 'store');
    await mkdir(dir);
    const filler = join(mountPoint, 'filler');
    await writeFile(filler, Buffer.alloc(1536 * 1024, 1));
    const docs = ['a', 'b', 'c', 'd'];
    const acknowledged = new Map<string, LogEntry[]>(docs.map((docId) => [docId, []]));
    let log = await store.open({ dir });
    let n = 0;
    /** A batch of 1–4 entries of about 3 KB, recognisable by `n`. */
    const batch = (): EntryInput[] => range(1, 1 + (n % 4)).map(() => input(++n, 3000));
    /** Appends one batch to every document (through appendMany, or one append each); counts refusals. */
    const round = async (many: boolean): Promise<number> => {
      const batches = docs.map((docId) => ({ docId, entries: batch() }));
      const results = many
        ? await log.appendMany(batches)
        : await Promise.allSettled(batches.map(({ docId, entries }) => log.append(docId, entries)));
      let refused = 0;
      results.forEach((result, i) => {
        if (result.status === 'fulfilled') acknowledged.get(batches[i]!.docId)!.push(...result.value);
        else {
          refused += 1;
          expectStorageFailed(result.reason, 'ENOSPC');
        }
      });
      return refused;
    };

    let refused = 0;
    for (let i = 0; refused < 12; i += 1) {
      refused += await round(i % 2 === 0);
      expect(i, 'the disk never filled up').toBeLessThan(1000);
    }
    // Full. The files hold the acknowledged entries and nothing else: reopening finds nothing to cut.
    await log.close();
    const recovered: RecoveryReport[] = [];
    const log2 = await store.open({ dir, onRecovery: (report) => recovered.push(report) });
    for (const docId of docs) {
      expect(await log2.head(docId)).toBe(acknowledged.get(docId)!.length);
    }
    expect(recovered).toEqual([]);
    log = log2;

    await rm(filler);
    // About 0.6 MB of the 1.5 MB freed: every append is stored again.
    for (let i = 0; i < 20; i += 1) expect(await round(i % 2 === 0), `round ${i} after freeing`).toBe(0);
    await log.close();

    const reopened = await store.open({ dir });
    for (const docId of docs) {
      const entries = acknowledged.get(docId)!;
      expect(entries.map((entry) => entry.seq)).toEqual(range(1, entries.length));
      expect(await reopened.head(docId)).toBe(entries.length);
      expect((await reopened.read(docId)).map(view)).toEqual(entries.map(view));
    }
  });
});
