/** Whole reads and writes at a position, and atomic file replacement (temp + fsync + rename + fsync dir). */

import { writeSync } from 'node:fs';
import { type FileHandle, open, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';

/** Bytes copied per read when moving records between files. */
export const COPY_CHUNK = 1 << 20;

/** Writes all of `bytes` at `position` (a single write may be short). */
export async function writeFully(handle: FileHandle, bytes: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < bytes.length) {
    const { bytesWritten } = await handle.write(bytes, done, bytes.length - done, position + done);
    done += bytesWritten;
  }
}

/**
 * Writes all of `bytes` at `position` on the calling thread. For an append that is a copy into the
 * page cache, microseconds: cheaper than the thread-pool trip of `writeFully`, which also wakes a
 * pool thread (and on a small or virtual machine, another core) for every write. What waits for
 * the disk, the fdatasync, still goes to the thread pool.
 */
export function writeFullySync(handle: FileHandle, bytes: Uint8Array, position: number): void {
  let done = 0;
  while (done < bytes.length) {
    done += writeSync(handle.fd, bytes, done, bytes.length - done, position + done);
  }
}

/** Fills `target` from `position`; returns how many bytes there were (less than asked only at the end of the file). */
export async function readAt(handle: FileHandle, target: Uint8Array, position: number): Promise<number> {
  let done = 0;
  while (done < target.length) {
    const { bytesRead } = await handle.read(target, done, target.length - done, position + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return done;
}

/** Copies the bytes `[start, end)` of `from` to `to` at `position`, a chunk at a time. */
export async function copyRange(
  from: FileHandle,
  start: number,
  end: number,
  to: FileHandle,
  position: number,
): Promise<void> {
  const chunk = Buffer.allocUnsafe(Math.min(COPY_CHUNK, Math.max(end - start, 0)));
  for (let at = start; at < end; at += chunk.length) {
    const part = chunk.subarray(0, Math.min(chunk.length, end - at));
    const read = await readAt(from, part, at);
    if (read < part.length) throw new Error(`unexpected end of file at byte ${at + read}`);
    await writeFully(to, part, position + (at - start));
  }
}

/** Makes a rename or creation in `dir` durable. Windows cannot open directories, and needs no such step. */
export async function syncDirectory(dir: string): Promise<void> {
  if (process.platform === 'win32') return;
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Writes a fresh `tmpPath` with `write` and, when `sync`, fsyncs it. Removes it on failure. */
export async function writeTempFile(
  tmpPath: string,
  write: (handle: FileHandle) => Promise<void>,
  sync: boolean,
): Promise<void> {
  try {
    const handle = await open(tmpPath, 'w');
    try {
      await write(handle);
      if (sync) await handle.sync();
    } finally {
      await handle.close();
    }
  } catch (error) {
    await discard(tmpPath);
    throw error;
  }
}

/** Renames `tmpPath` over `path` and, when `sync`, fsyncs the directory so the new name survives a crash. */
export async function commitTempFile(tmpPath: string, path: string, sync: boolean): Promise<void> {
  try {
    await rename(tmpPath, path);
  } catch (error) {
    await discard(tmpPath);
    throw error;
  }
  if (sync) await syncDirectory(dirname(path));
}

/** Removes a temp file after a failure; the failure is what the caller must see, and leftovers go on the next open. */
async function discard(tmpPath: string): Promise<void> {
  await rm(tmpPath, { force: true }).catch(() => undefined);
}
