/**
 * The `LOCK` file that keeps a second process (or a second open in this one) out of a store
 * directory while it is open: two writers appending to one file would interleave records.
 */

import { link, readFile, realpath, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ErrorCode, YStateError } from '@ystate/core';
import { hasErrorCode } from './store-errors.js';

/** Store directories (real paths) this process holds. */
const held = new Set<string>();

/**
 * Takes the lock of `dir`; resolves with the function that releases it. A `LOCK` whose process no
 * longer runs (it crashed) is taken over. Throws STORE_LOCKED while another live process, or
 * another open log in this one, holds it.
 */
export async function lockStore(dir: string): Promise<() => Promise<void>> {
  const key = await realpath(dir);
  if (held.has(key)) throw locked(dir, 'it is already open in this process');
  const lockPath = join(dir, 'LOCK');
  const content = `${process.pid}\n`;
  // Written whole under a temp name, then linked into place: `link` fails if LOCK exists, and a
  // LOCK never exists half written.
  const tmpPath = join(dir, `LOCK.${process.pid}.tmp`);
  await writeFile(tmpPath, content);
  try {
    for (let attempt = 0; ; attempt += 1) {
      try {
        await link(tmpPath, lockPath);
        break;
      } catch (error) {
        if (!hasErrorCode(error, 'EEXIST') || attempt > 0) throw error;
      }
      const owner = Number.parseInt(await readFile(lockPath, 'utf8').catch(() => ''), 10);
      if (owner !== process.pid && isRunning(owner)) throw locked(dir, `process ${owner} holds it`);
      await rm(lockPath, { force: true });
    }
  } catch (error) {
    if (hasErrorCode(error, 'EEXIST')) throw locked(dir, 'another process took it at the same time');
    throw error;
  } finally {
    await rm(tmpPath, { force: true });
  }
  held.add(key);
  return async () => {
    held.delete(key);
    const owner = await readFile(lockPath, 'utf8').catch(() => '');
    if (owner === content) await rm(lockPath, { force: true });
  };
}

function isRunning(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it runs, under another user.
    return hasErrorCode(error, 'EPERM');
  }
}

function locked(dir: string, why: string): YStateError {
  return new YStateError({
    code: ErrorCode.STORE_LOCKED,
    message: `the store directory ${dir} is locked: ${why}`,
  });
}
