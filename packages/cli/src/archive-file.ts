/**
 * Backup archives as files, written atomically: the archive is streamed into a hidden temp file
 * beside the target (`.NAME.PID.HOST.partial`), fsynced, renamed over the target and the directory
 * fsynced. A backup that dies halfway leaves no file at the target, only a hidden `.partial` that
 * `restore` refuses (it has no end record) and the next backup into that directory removes.
 */

import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { type FileHandle, open, readdir, rename, rm, stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import { basename, dirname, join } from 'node:path';
import type { LogEntry, UpdateLog } from '@ystate/core';
import { type ArchiveCounts, writeArchive } from '@ystate/core/archive';
import { selectDocIds } from './doc-pattern.js';

/** How far a backup has got. */
export interface BackupProgress {
  /** The document being written. */
  docId: string;
  /** Documents finished. */
  docs: number;
  totalDocs: number;
  /** Entries written so far. */
  entries: number;
  /** Entries there are at most (the sum of the heads; pruned history makes it fewer). */
  totalEntries: number;
  /** Bytes written so far. */
  bytes: number;
}

export interface WriteArchiveFileOptions {
  /** Only documents matching this pattern (`projects/*`, `runs/**`); default all. */
  docs?: string;
  /** Called as documents are written, with the counts so far. */
  onProgress?: (progress: BackupProgress) => void;
  /** Stops the backup (the temp file is removed and the call rejects). */
  signal?: AbortSignal;
  /** Pauses after each document (tests use it to kill a backup halfway). */
  delayPerDocumentMs?: number;
}

export interface ArchiveFileResult extends ArchiveCounts {
  file: string;
  bytes: number;
}

/** Bytes collected before each write to the temp file. */
const WRITE_CHUNK = 1 << 20;

/**
 * Writes an archive of `log` (as stored: encrypted entries stay encrypted) to `file` atomically.
 * Each document is taken at the head it had when the backup listed it, so a live store (a server
 * appending meanwhile) gives a consistent archive of every document.
 */
export async function writeArchiveFile(
  log: UpdateLog,
  file: string,
  options: WriteArchiveFileOptions = {},
): Promise<ArchiveFileResult> {
  const dir = dirname(file);
  await removeStalePartials(dir);
  const docIds = selectDocIds(await log.docIds(), options.docs);
  const heads = new Map<string, number>();
  let totalEntries = 0;
  for (const docId of docIds) {
    const head = await log.head(docId);
    heads.set(docId, head);
    totalEntries += head;
  }
  const counts = { docs: 0, entries: 0, checkpoints: 0 };
  const view = snapshotOf(log, heads, counts);

  const tmp = join(dir, partialName(basename(file)));
  let handle: FileHandle;
  try {
    handle = await open(tmp, 'wx', 0o600);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason =
      code === 'ENOENT'
        ? `the directory ${dir} does not exist`
        : code === 'EACCES'
          ? `no permission to write in ${dir}`
          : String(error);
    throw new Error(`cannot write ${file}: ${reason}`, { cause: error });
  }
  let committed = false;
  try {
    let pending: Uint8Array[] = [];
    let pendingBytes = 0;
    let written = 0;
    const flush = async (): Promise<void> => {
      if (pendingBytes === 0) return;
      const bytes = Buffer.concat(pending, pendingBytes);
      pending = [];
      pendingBytes = 0;
      await writeFully(handle, bytes, written);
      written += bytes.length;
    };
    let current = docIds[0] ?? '';
    let docsDone = 0;
    let reported = 0;
    const report = () =>
      options.onProgress?.({
        docId: current,
        docs: counts.docs,
        totalDocs: docIds.length,
        entries: counts.entries,
        totalEntries,
        bytes: written + pendingBytes,
      });
    const archive = writeArchive(view, {
      ...(options.docs === undefined ? {} : { docs: options.docs }),
      onProgress: (progress) => {
        counts.docs = progress.docs;
        current = docIds[progress.docs] ?? progress.docId;
      },
    });
    for await (const chunk of archive) {
      options.signal?.throwIfAborted();
      pending.push(chunk);
      pendingBytes += chunk.length;
      if (pendingBytes >= WRITE_CHUNK) await flush();
      if (counts.docs !== docsDone) {
        docsDone = counts.docs;
        report();
        if (options.delayPerDocumentMs !== undefined && options.delayPerDocumentMs > 0) {
          await flush();
          await delay(options.delayPerDocumentMs, options.signal);
        }
      } else if (counts.entries !== reported) {
        reported = counts.entries;
        report();
      }
    }
    await flush();
    await handle.sync();
    await handle.close();
    await rename(tmp, file);
    committed = true;
    await syncDirectory(dir);
    return { file, bytes: written, ...counts };
  } finally {
    if (!committed) {
      await handle.close().catch(() => undefined);
      await rm(tmp, { force: true }).catch(() => undefined);
    }
  }
}

/**
 * A read-only view of `log` fixed at `heads`: reads and checkpoints beyond a document's listed
 * head are not seen, so a checkpoint a server stores during the backup cannot lie beyond the
 * entries archived. Counts what it hands out.
 */
function snapshotOf(
  log: UpdateLog,
  heads: ReadonlyMap<string, number>,
  counts: { entries: number; checkpoints: number },
): UpdateLog {
  const headOf = (docId: string): number => heads.get(docId) ?? 0;
  const readOnly = (): never => {
    throw new Error('unreachable: a backup does not write');
  };
  return {
    docIds: async () => [...heads.keys()],
    head: async (docId) => headOf(docId),
    read: async (docId, range = {}) => {
      const entries = await log.read(docId, { ...range, to: Math.min(range.to ?? Infinity, headOf(docId)) });
      counts.entries += entries.length;
      return entries;
    },
    latestCheckpoint: async (docId, atOrBefore) => {
      const checkpoint: LogEntry | undefined = await log.latestCheckpoint(
        docId,
        Math.min(atOrBefore ?? Infinity, headOf(docId)),
      );
      if (checkpoint) counts.checkpoints++;
      return checkpoint;
    },
    append: readOnly,
    storeCheckpoint: readOnly,
    prune: readOnly,
    close: async () => undefined,
  };
}

/** The bytes of an archive file, as `restoreArchive` reads them; counts what was read. */
export function archiveSource(file: string, onBytes?: (bytes: number) => void): AsyncIterable<Uint8Array> {
  return {
    async *[Symbol.asyncIterator]() {
      let read = 0;
      for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) {
        const bytes = chunk as Buffer;
        read += bytes.length;
        onBytes?.(read);
        yield bytes;
      }
    },
  };
}

/** The size of a file, or a clear error when it cannot be read. */
export async function archiveSize(file: string): Promise<number> {
  try {
    const info = await stat(file);
    if (!info.isFile()) throw new Error('not a file');
    return info.size;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason =
      code === 'ENOENT' ? 'no such file' : error instanceof Error ? error.message : String(error);
    throw new Error(`cannot read ${file}: ${reason}`);
  }
}

const HOST = hostname().replace(/[^A-Za-z0-9-]/g, '_');
const PARTIAL = /^\..+\.(\d+)\.([A-Za-z0-9_-]+)\.[0-9a-f]+\.partial$/;

/** `.NAME.PID.HOST.RANDOM.partial`: hidden, and never named like an archive. */
function partialName(name: string): string {
  return `.${name}.${process.pid}.${HOST}.${randomBytes(4).toString('hex')}.partial`;
}

/** True when `name` is the temp file of a backup in progress or interrupted. */
export function isPartialName(name: string): boolean {
  return PARTIAL.test(name);
}

/**
 * Removes temp files of backups interrupted on this host: their process is gone. Temp files of
 * other hosts (a shared directory) and of running backups stay.
 */
export async function removeStalePartials(dir: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    const match = PARTIAL.exec(name);
    if (match === null || match[2] !== HOST) continue;
    const pid = Number(match[1]);
    if (pid === process.pid || isRunning(pid)) continue;
    await rm(join(dir, name), { force: true });
    removed.push(name);
  }
  return removed;
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it runs, as another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function writeFully(handle: FileHandle, bytes: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < bytes.length) {
    const { bytesWritten } = await handle.write(bytes, done, bytes.length - done, position + done);
    done += bytesWritten;
  }
}

/** Makes the rename durable. Windows cannot open directories, and needs no such step. */
async function syncDirectory(dir: string): Promise<void> {
  if (process.platform === 'win32') return;
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

function delay(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
