import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCode, type LogEntry } from '@ystate/core';
import { afterEach, describe, expect, it } from 'vitest';
import { openFileLog } from './file-log.js';

const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

async function scratch(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'ystate-file-restore-'));
  dirs.push(dir);
  return dir;
}

function entry(seq: number, kind: LogEntry['kind'] = 'update'): LogEntry {
  return { kind, seq, time: 1000 + seq, origin: `o${seq % 2}`, flags: 0, payload: Uint8Array.of(seq, 1, 2) };
}

describe('FileUpdateLog.restore', () => {
  it('writes pruned history at its original seqs, which survives a reopen and takes appends after it', async () => {
    const dir = await scratch();
    const entries = [41, 42, 43].map((seq) => entry(seq));
    const checkpoints = [entry(40, 'checkpoint'), entry(43, 'checkpoint')];
    const log = await openFileLog({ dir });
    await log.restore('projects/1', entries, checkpoints);
    expect(await log.head('projects/1')).toBe(43);
    expect(await log.read('projects/1')).toEqual(entries);
    await log.close();

    const again = await openFileLog({ dir });
    expect(await again.read('projects/1', { from: 1, to: 42 })).toEqual(entries.slice(0, 2));
    expect(await again.latestCheckpoint('projects/1', 42)).toEqual(checkpoints[0]);
    expect(await again.latestCheckpoint('projects/1')).toEqual(checkpoints[1]);
    const [appended] = await again.append('projects/1', [
      { kind: 'update', time: 2000, origin: 'later', flags: 0, payload: Uint8Array.of(9) },
    ]);
    expect(appended?.seq).toBe(44);
    // No temp file is left behind.
    expect((await readdir(dir)).filter((name) => name.endsWith('.tmp'))).toEqual([]);
    await again.close();
  });

  it('restores a document whose every entry was pruned: its head comes from the newest checkpoint', async () => {
    const dir = await scratch();
    const log = await openFileLog({ dir });
    await log.restore('empty', [], [entry(12, 'checkpoint')]);
    await log.close();
    const again = await openFileLog({ dir });
    expect(await again.head('empty')).toBe(12);
    expect(await again.read('empty')).toEqual([]);
    expect((await again.latestCheckpoint('empty'))?.seq).toBe(12);
    await again.close();
  });

  it('refuses documents with history, and history it cannot store, writing nothing', async () => {
    const dir = await scratch();
    const log = await openFileLog({ dir });
    await log.append('taken', [
      { kind: 'update', time: 1, origin: 'x', flags: 0, payload: Uint8Array.of(0) },
    ]);
    await expect(log.restore('taken', [entry(1)], [])).rejects.toMatchObject({
      code: ErrorCode.DOCUMENT_EXISTS,
    });
    expect(await log.read('taken')).toHaveLength(1);
    for (const [entries, checkpoints] of [
      [[entry(3), entry(5)], []],
      [[entry(0)], []],
      [[entry(2, 'checkpoint')], []],
      [[entry(1)], [entry(2, 'checkpoint')]],
      [[entry(1)], [entry(1)]],
    ] as const) {
      await expect(log.restore('new', entries, checkpoints)).rejects.toMatchObject({
        code: ErrorCode.INVALID_VALUE,
      });
    }
    expect(await log.docIds()).toEqual(['taken']);
    await log.close();
  });
});
