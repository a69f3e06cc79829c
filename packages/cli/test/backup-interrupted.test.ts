/**
 * A backup that dies halfway never leaves an archive that looks whole: the binary is SIGKILLed (or
 * stopped with SIGTERM) while it writes, slowed down per document by a variable only tests set.
 */

import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { openFileLog } from '@ystate/file';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { isPartialName } from '../src/archive-file.js';
import { assertBuilt, runCli, startCli, tempDir, waitFor } from './cli-process.js';

beforeAll(() => assertBuilt());

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Each document pauses the backup this long, so a kill lands in the middle. */
const SLOW = { NODE_ENV: 'test', YSTATE_TEST_BACKUP_DELAY_MS: '2000' };

/** A file store with `count` small documents. */
async function store(count: number): Promise<string> {
  const dir = await tempDir();
  cleanups.push(dir.remove);
  const log = await openFileLog({ dir: join(dir.path, 'data') });
  for (let i = 0; i < count; i++) {
    await log.append(`docs/${i}`, [
      { kind: 'update', time: i, origin: 'fixture', flags: 0, payload: new Uint8Array([0, 0]) },
    ]);
  }
  await log.close();
  return dir.path;
}

/** The temp files of backups in `dir`. */
async function partials(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter(isPartialName);
}

/** Starts a slowed-down backup to `out` and resolves once it has written part of the archive. */
async function backupHalfway(cwd: string, out: string) {
  const backup = startCli(['backup', '--data', 'data', '--out', out], { cwd, env: SLOW });
  const partial = await waitFor(async () => {
    const [name] = await partials(cwd);
    if (name === undefined) return undefined;
    return (await stat(join(cwd, name))).size > 0 ? name : undefined;
  }, 'the backup to write part of its temp file');
  return { backup, partial };
}

async function sha256(file: string): Promise<string> {
  return createHash('sha256')
    .update(await readFile(file))
    .digest('hex');
}

describe('an interrupted backup', () => {
  it('killed with SIGKILL halfway leaves no archive, and an older archive at --out intact', async () => {
    const cwd = await store(8);
    const { backup, partial } = await backupHalfway(cwd, 'new.ystate-backup');
    backup.child.kill('SIGKILL');
    expect(await backup.exited).toEqual({ code: null, signal: 'SIGKILL' });
    expect(existsSync(join(cwd, 'new.ystate-backup'))).toBe(false);
    // What remains is hidden and not named like an archive; restoring it anyway is refused.
    expect(await partials(cwd)).toEqual([partial]);
    expect(partial.startsWith('.')).toBe(true);
    expect(partial.endsWith('.ystate-backup')).toBe(false);
    const restore = await runCli(['restore', partial, '--data', 'restored'], { cwd });
    expect(restore.code).toBe(1);
    expect(restore.stderr).toMatch(
      /incomplete \(no end record\): was the backup interrupted\?; nothing was written/,
    );

    // Replacing an existing archive: a kill leaves the old one as it was (complete, restorable).
    expect((await runCli(['backup', '--data', 'data', '--out', 'old.ystate-backup'], { cwd })).code).toBe(0);
    // …which also removed the temp file of the backup killed before.
    expect(await partials(cwd)).toEqual([]);
    const before = await sha256(join(cwd, 'old.ystate-backup'));
    const second = await backupHalfway(cwd, 'old.ystate-backup');
    second.backup.child.kill('SIGKILL');
    await second.backup.exited;
    expect(await sha256(join(cwd, 'old.ystate-backup'))).toBe(before);
    const restored = await runCli(['restore', 'old.ystate-backup', '--data', 'restored'], { cwd });
    expect(restored.stdout).toMatch(/restored 8 documents/);
  });

  it('stopped with SIGTERM exits 1, says so, and removes its temp file', async () => {
    const cwd = await store(8);
    const { backup } = await backupHalfway(cwd, 'stopped.ystate-backup');
    backup.child.kill('SIGTERM');
    expect(await backup.exited).toEqual({ code: 1, signal: null });
    expect(backup.stderr()).toMatch(/stopped by SIGTERM: no archive was written/);
    expect(await readdir(cwd)).toEqual(['data']);
  });
});
