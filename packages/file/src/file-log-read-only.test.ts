import { appendFile, mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
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
  const dir = await mkdtemp(join(tmpdir(), 'ystate-file-read-only-'));
  dirs.push(dir);
  return dir;
}

const update = (n: number) => ({
  kind: 'update' as const,
  time: 1000 + n,
  origin: 'w',
  flags: 0,
  payload: Uint8Array.of(n),
});

describe('openFileLog({ readOnly: true })', () => {
  it('reads a store another open log holds and writes, without its lock, and refuses every write', async () => {
    const dir = await scratch();
    const writer = await openFileLog({ dir });
    const stored = await writer.append('projects/1', [update(1), update(2), update(3)]);
    const checkpoint: LogEntry = { ...update(9), kind: 'checkpoint', seq: 2 };
    await writer.storeCheckpoint('projects/1', checkpoint);
    const lock = await readFile(join(dir, 'LOCK'), 'utf8');

    const reader = await openFileLog({ dir, readOnly: true });
    expect(await reader.head('projects/1')).toBe(3);
    expect(await reader.read('projects/1')).toEqual(stored);
    expect(await reader.latestCheckpoint('projects/1')).toEqual(checkpoint);
    expect(await reader.docIds()).toEqual(['projects/1']);
    for (const write of [
      () => reader.append('projects/1', [update(4)]),
      () => reader.storeCheckpoint('projects/1', { ...checkpoint, seq: 3 }),
      () => reader.prune('projects/1', 2),
      () => reader.restore('projects/2', stored, []),
    ]) {
      await expect(write()).rejects.toMatchObject({ code: ErrorCode.FORBIDDEN });
    }
    await reader.close();

    // The writer's lock and its store are as they were; it goes on appending.
    expect(await readFile(join(dir, 'LOCK'), 'utf8')).toBe(lock);
    const [next] = await writer.append('projects/1', [update(4)]);
    expect(next?.seq).toBe(4);
    expect(await writer.read('projects/1', { from: 1, to: 3 })).toEqual(stored);
    await writer.close();
  });

  it('skips a torn tail without cutting it (it may be an append in progress)', async () => {
    const dir = await scratch();
    const writer = await openFileLog({ dir });
    const stored = await writer.append('doc', [update(1), update(2)]);
    await writer.close();
    const [logFile] = (await readdir(dir)).filter((name) => name.endsWith('.log'));
    const path = join(dir, logFile as string);
    await appendFile(path, Uint8Array.of(1, 2, 3, 4, 5));
    const size = (await stat(path)).size;

    const reports: unknown[] = [];
    const reader = await openFileLog({ dir, readOnly: true, onRecovery: (report) => reports.push(report) });
    expect(await reader.read('doc')).toEqual(stored);
    await reader.close();
    expect((await stat(path)).size).toBe(size);
    expect(reports).toEqual([]);
  });

  it('fails with INVALID_CONFIG for a missing directory and creates nothing', async () => {
    const dir = join(await scratch(), 'typo', 'dir');
    await expect(openFileLog({ dir, readOnly: true })).rejects.toMatchObject({
      code: ErrorCode.INVALID_CONFIG,
      message: expect.stringContaining('does not exist'),
    });
    await expect(stat(join(dir, '..'))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
