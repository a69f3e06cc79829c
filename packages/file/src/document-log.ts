/**
 * One document's log file: the record index, group commit of appends, recovery of a torn tail on
 * open, and pruning by atomic rewrite. The store (file-log.ts) validates input before it gets here.
 */

import { type FileHandle, open } from 'node:fs/promises';
import { join } from 'node:path';
import {
  EntryFlags,
  type EntryInput,
  ErrorCode,
  encodeEntry,
  type LogEntry,
  type SeqRange,
  YStateError,
} from '@ystate/core';
import { CheckpointFile } from './checkpoint-file.js';
import { commitTempFile, copyRange, writeFully, writeTempFile } from './file-io.js';
import {
  decodeFrame,
  encodeHeader,
  encodeRecords,
  HEADER_SIZE,
  readHeader,
  readRecords,
  scanRecords,
} from './record.js';
import { RwLock } from './rw-lock.js';
import { closedError, corruptFile, hasErrorCode, invalidValue } from './store-errors.js';
import type { RecoveryReport, StoreContext } from './store-options.js';

/** About how many bytes one group commit writes at most; beyond, the queue is written in several. */
const MAX_GROUP_BYTES = 4 << 20;
/** Roughly the bytes of an entry besides its payload, for sizing groups. */
const ENTRY_OVERHEAD = 32;
/** Entries encoded per write when restoring a document. */
const RESTORE_CHUNK = 1000;

/** An append waiting for the next group commit. */
interface PendingAppend {
  entries: readonly EntryInput[];
  resolve: (stored: LogEntry[]) => void;
  reject: (error: unknown) => void;
}

/**
 * Appends, reads and prunes share a readers–writer lock: appends (one group commit at a time) and
 * reads run together, prune, reset and close run alone. The index only ever covers whole records
 * that are written (and, with `always`, fsynced), so a read never sees an unfinished append.
 */
export class DocumentLog {
  readonly docId: string;
  readonly checkpoints: CheckpointFile;
  /** Calls in progress on this document; the store only closes idle documents to free handles. */
  active = 0;
  readonly #path: string;
  readonly #context: StoreContext;
  readonly #lock = new RwLock();
  /** The scan of the file, once started; undefined again after a reset. */
  #opened: Promise<void> | undefined;
  /** Undefined while the file does not exist. */
  #handle: FileHandle | undefined;
  /** The seq before the first record in the file: the last pruned one. */
  #baseSeq = 0;
  /** Where each record starts: record i holds seq `#baseSeq + 1 + i`. */
  #offsets: number[] = [];
  /** Where the last record ends. */
  #size = 0;
  #queue: PendingAppend[] = [];
  #flushing: Promise<void> | undefined;
  /** Appended bytes not yet fsynced (`interval` only). */
  #dirty = false;
  /** A failed background fsync, reported to the next append or to close. */
  #syncFailure: { error: unknown } | undefined;
  #closed = false;

  constructor(docId: string, stem: string, context: StoreContext) {
    this.docId = docId;
    this.#path = join(context.dir, `${stem}.log`);
    this.#context = context;
    this.checkpoints = new CheckpointFile(docId, join(context.dir, `${stem}.ckpt`), context);
  }

  /** True when nothing is running or waiting on this document. */
  get idle(): boolean {
    return this.active === 0 && this.#queue.length === 0 && this.#flushing === undefined;
  }

  /**
   * Queues entries for the next group commit. What queues while a commit is in flight is written
   * after it with one write and, with `always`, one fsync (in steps of about `MAX_GROUP_BYTES`);
   * each caller gets its own contiguous seqs, in call order, once its group is durable.
   */
  append(entries: readonly EntryInput[]): Promise<LogEntry[]> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ entries, resolve, reject });
      this.#flushing ??= this.#flush();
    });
  }

  /** The retained entries with seq in `range`, read by seeking through the record index. */
  read(range: SeqRange): Promise<LogEntry[]> {
    return this.#lock.shared(async () => {
      await this.#ready();
      const first = this.#baseSeq + 1;
      const from = Math.max(Math.ceil(range.from ?? first), first);
      const to = Math.min(Math.floor(range.to ?? this.#head()), this.#head());
      if (this.#handle === undefined || from > to) return [];
      const entries = await readRecords(
        this.#handle,
        this.#offsets,
        from - first,
        to - first + 1,
        this.#size,
        this.#path,
      );
      entries.forEach((entry, i) => {
        if (entry.seq !== from + i) throw invalidIndex(this.#path, from + i, entry.seq);
      });
      return entries;
    });
  }

  /** The highest seq ever assigned. */
  head(): Promise<number> {
    return this.#lock.shared(async () => {
      await this.#ready();
      return this.#head();
    });
  }

  /** Stores a checkpoint whose seq must name an appended entry. */
  storeCheckpoint(checkpoint: LogEntry): Promise<void> {
    return this.#lock.shared(async () => {
      await this.#ready();
      const head = this.#head();
      if (checkpoint.seq > head) {
        throw invalidValue(
          `checkpoint for "${this.docId}": seq ${checkpoint.seq} does not name an appended entry (head is ${head})`,
        );
      }
      await this.checkpoints.store(checkpoint);
    });
  }

  /** Drops entries below `seq` by rewriting the file, then checkpoints made obsolete. Head stays. */
  async prune(seq: number): Promise<void> {
    await this.#lock.exclusive(async () => {
      await this.#ready();
      const first = this.#baseSeq + 1;
      const keepFrom = Math.min(Math.ceil(seq), this.#head() + 1);
      if (this.#handle === undefined || keepFrom <= first) return;
      try {
        await this.#rewrite(keepFrom);
      } catch (error) {
        await this.#reset();
        throw error;
      }
    });
    await this.checkpoints.dropObsolete(seq);
  }

  /**
   * Writes restored history into a document with none: checkpoints first, then the log file with
   * `base` = the seq before the first entry, written whole (temp + fsync + rename + fsync dir), so
   * a crash leaves either no log (the restore can run again) or all of it. `head` is the last seq
   * (the last entry's, or the newest checkpoint's when every entry was pruned).
   */
  async restore(entries: readonly LogEntry[], checkpoints: readonly LogEntry[], head: number): Promise<void> {
    await this.#lock.exclusive(async () => {
      await this.#ready();
      if (this.#head() > 0) {
        throw new YStateError({
          code: ErrorCode.DOCUMENT_EXISTS,
          message: `"${this.docId}" already has history`,
        });
      }
      for (const checkpoint of [...checkpoints].sort((a, b) => a.seq - b.seq)) {
        await this.checkpoints.store(checkpoint);
      }
      const base = (entries[0]?.seq ?? head + 1) - 1;
      const tmpPath = `${this.#path}.tmp`;
      await writeTempFile(
        tmpPath,
        async (handle) => {
          await writeFully(handle, encodeHeader('log', base), 0);
          let position = HEADER_SIZE;
          for (let i = 0; i < entries.length; i += RESTORE_CHUNK) {
            const frames = entries.slice(i, i + RESTORE_CHUNK).map((entry) => encodeEntry(entry));
            const { bytes } = encodeRecords(frames);
            await writeFully(handle, bytes, position);
            position += bytes.length;
          }
        },
        true,
      );
      await commitTempFile(tmpPath, this.#path, true);
      // The next call scans the new file, exactly as after a restart.
      await this.#reset();
    });
  }

  /** With `interval`: fsyncs appended bytes; a failure is kept for the next append or close. */
  async syncIfDirty(): Promise<void> {
    if (!this.#dirty) return;
    await this.#lock.shared(async () => {
      const handle = this.#handle;
      if (!this.#dirty || handle === undefined || this.#closed) return;
      this.#dirty = false;
      try {
        await handle.datasync();
        this.#context.stats.syncs += 1;
      } catch (error) {
        this.#syncFailure ??= { error };
      }
    });
  }

  /** Lets queued appends finish, fsyncs what `interval` has not yet, and closes the file. */
  async close(): Promise<void> {
    while (this.#flushing !== undefined) await this.#flushing;
    await this.#lock.exclusive(async () => {
      if (this.#closed) return;
      this.#closed = true;
      const handle = this.#handle;
      this.#handle = undefined;
      if (handle === undefined) return;
      try {
        if (this.#syncFailure !== undefined) throw this.#syncFailure.error;
        if (this.#dirty) {
          await handle.datasync();
          this.#context.stats.syncs += 1;
        }
      } finally {
        await handle.close();
      }
    });
  }

  #head(): number {
    return this.#baseSeq + this.#offsets.length;
  }

  /**
   * Runs the scan of the file once (again after a reset); rejects once closed. The call that ran
   * the scan also runs the `onRecovery` hook, and sees its error, which does not undo the repair.
   */
  #ready(): Promise<void> {
    if (this.#closed) return Promise.reject(closedError());
    if (this.#opened !== undefined) return this.#opened;
    const scan = this.#scan();
    const opened = scan.then(
      () => undefined,
      (error: unknown) => {
        this.#opened = undefined;
        throw error;
      },
    );
    // Callers that join later await `opened`; this one awaits `scan`, so mark `opened` as handled.
    opened.catch(() => undefined);
    this.#opened = opened;
    return scan.then((report) => {
      if (report !== undefined) this.#context.report(report);
    });
  }

  /** Opens the file, indexes its records and truncates a torn or corrupt tail, which it reports. */
  async #scan(): Promise<RecoveryReport | undefined> {
    let handle: FileHandle;
    try {
      handle = await open(this.#path, this.#context.readOnly ? 'r' : 'r+');
    } catch (error) {
      if (!hasErrorCode(error, 'ENOENT')) throw error;
      this.#handle = undefined;
      this.#baseSeq = 0;
      this.#offsets = [];
      this.#size = 0;
      return undefined;
    }
    try {
      const { size } = await handle.stat();
      const baseSeq = await readHeader(handle, 'log', this.#path);
      const offsets: number[] = [];
      const validEnd = await scanRecords(handle, HEADER_SIZE, size, (frame, offset) => {
        try {
          if (decodeFrame(frame, this.#path).seq !== baseSeq + offsets.length + 1) return false;
        } catch {
          return false;
        }
        offsets.push(offset);
        return true;
      });
      // Read-only, a tail beyond the last whole record is skipped, not cut: it may be an append in progress.
      if (validEnd < size && !this.#context.readOnly) {
        await handle.truncate(validEnd);
        if (this.#context.fsync !== 'never') await handle.sync();
      }
      this.#handle = handle;
      this.#baseSeq = baseSeq;
      this.#offsets = offsets;
      this.#size = validEnd;
      if (validEnd === size || this.#context.readOnly) return undefined;
      return {
        docId: this.docId,
        file: this.#path,
        truncatedBytes: size - validEnd,
        validEntries: offsets.length,
      };
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  async #flush(): Promise<void> {
    try {
      while (this.#queue.length > 0) await this.#commit(this.#takeGroup());
    } finally {
      // Cleared in the same synchronous step that found the queue empty, so no append is stranded.
      this.#flushing = undefined;
    }
  }

  /** The next group: queued appends up to about `MAX_GROUP_BYTES` (at least one), so a long queue is written in steps. */
  #takeGroup(): PendingAppend[] {
    let bytes = 0;
    let count = 0;
    while (count < this.#queue.length && (count === 0 || bytes < MAX_GROUP_BYTES)) {
      for (const entry of this.#queue[count]!.entries) bytes += ENTRY_OVERHEAD + entry.payload.length;
      count += 1;
    }
    return this.#queue.splice(0, count);
  }

  /** Writes one group of appends; never throws: every caller is resolved or rejected. */
  async #commit(batch: PendingAppend[]): Promise<void> {
    let stored: LogEntry[][] | undefined;
    let failure: unknown;
    let reset = false;
    await this.#lock.shared(async () => {
      try {
        await this.#ready();
        if (this.#syncFailure !== undefined) {
          reset = true;
          throw this.#syncFailure.error;
        }
        stored = await this.#write(batch, () => {
          reset = true;
        });
      } catch (error) {
        failure = error;
      }
    });
    if (stored !== undefined) {
      const results = stored;
      batch.forEach((pending, i) => {
        pending.resolve(results[i]!);
      });
      return;
    }
    if (reset) await this.#lock.exclusive(() => this.#reset());
    for (const pending of batch) pending.reject(failure);
  }

  /** Assigns seqs, then one write (and with `always` one fsync) for the whole group. */
  async #write(batch: readonly PendingAppend[], failedWrite: () => void): Promise<LogEntry[][]> {
    const first = this.#head() + 1;
    let count = 0;
    const stored = batch.map((pending) =>
      pending.entries.map((entry) => storedEntry(entry, first + count++)),
    );
    const frames: Uint8Array[] = [];
    for (const entries of stored) for (const entry of entries) frames.push(encodeEntry(entry));
    const { bytes, starts } = encodeRecords(frames);
    const handle = this.#handle ?? (await this.#create());
    const position = this.#size;
    try {
      await writeFully(handle, bytes, position);
      this.#context.stats.writes += 1;
      if (this.#context.fsync === 'always') {
        await handle.datasync();
        this.#context.stats.syncs += 1;
      }
    } catch (error) {
      failedWrite();
      // Best effort: cut what may have reached the file, so the failed entries do not come back. If
      // this fails too, the reset's rescan is still exact about what is there.
      await handle.truncate(position).catch(() => undefined);
      throw error;
    }
    for (const start of starts) this.#offsets.push(position + start);
    this.#size = position + bytes.length;
    if (this.#context.fsync === 'interval') this.#dirty = true;
    this.#context.stats.appendedEntries += frames.length;
    return stored;
  }

  /** Creates the file with its header, atomically, and opens it. */
  async #create(): Promise<FileHandle> {
    const sync = this.#context.fsync !== 'never';
    const tmpPath = `${this.#path}.tmp`;
    await writeTempFile(tmpPath, (handle) => writeFully(handle, encodeHeader('log', this.#baseSeq), 0), sync);
    await commitTempFile(tmpPath, this.#path, sync);
    const handle = await open(this.#path, 'r+');
    this.#handle = handle;
    this.#size = HEADER_SIZE;
    return handle;
  }

  /** Rewrites the file to start at `keepFrom`: temp + fsync + rename + fsync dir, whatever the policy. */
  async #rewrite(keepFrom: number): Promise<void> {
    const old = this.#handle!;
    const skip = keepFrom - (this.#baseSeq + 1);
    const start = skip < this.#offsets.length ? this.#offsets[skip]! : this.#size;
    const end = this.#size;
    const tmpPath = `${this.#path}.tmp`;
    await writeTempFile(
      tmpPath,
      async (handle) => {
        await writeFully(handle, encodeHeader('log', keepFrom - 1), 0);
        await copyRange(old, start, end, handle, HEADER_SIZE);
      },
      true,
    );
    // Closed before the rename, which Windows refuses over an open file.
    this.#handle = undefined;
    await old.close();
    await commitTempFile(tmpPath, this.#path, true);
    this.#handle = await open(this.#path, 'r+');
    this.#offsets = this.#offsets.slice(skip).map((offset) => offset - start + HEADER_SIZE);
    this.#size = HEADER_SIZE + end - start;
    this.#baseSeq = keepFrom - 1;
    this.#dirty = false;
  }

  /** Forgets all in-memory state after a failure; the next call rescans the file from disk. */
  async #reset(): Promise<void> {
    const handle = this.#handle;
    this.#handle = undefined;
    this.#opened = undefined;
    this.#offsets = [];
    this.#size = 0;
    this.#baseSeq = 0;
    this.#dirty = false;
    this.#syncFailure = undefined;
    // The handle is abandoned because of an error already reported; a second one from close adds nothing.
    await handle?.close().catch(() => undefined);
  }
}

/** An entry as stored and read back: the frame writes `keyId` only with the encrypted flag. */
function storedEntry(input: EntryInput, seq: number): LogEntry {
  const entry: LogEntry = {
    kind: input.kind,
    seq,
    time: input.time,
    origin: input.origin,
    flags: input.flags,
    payload: input.payload,
  };
  if (input.flags & EntryFlags.encrypted) entry.keyId = input.keyId ?? '';
  return entry;
}

function invalidIndex(file: string, expected: number, found: number): Error {
  return corruptFile(file, `expected seq ${expected} in the record index, found ${found}`);
}
