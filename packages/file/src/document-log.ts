/**
 * One document's log file: the record index, appends (one at a time, each atomic), recovery of a
 * torn tail on open, refusal of damage before the tail, salvage, and pruning by atomic rewrite.
 * The store (file-log.ts) validates input before it gets here.
 */

import { fdatasync } from 'node:fs';
import { copyFile, type FileHandle, open, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import {
  EntryFlags,
  type EntryInput,
  ErrorCode,
  encodeEntry,
  isYStateError,
  type LogEntry,
  type SeqRange,
  YStateError,
} from '@ystate/core';
import { CheckpointFile } from './checkpoint-file.js';
import {
  commitTempFile,
  copyRange,
  syncDirectory,
  writeFully,
  writeFullySync,
  writeTempFile,
} from './file-io.js';
import { describeDamage, surveyLog } from './log-survey.js';
import { encodeHeader, encodeRecords, HEADER_SIZE, readRecords } from './record.js';
import { RwLock } from './rw-lock.js';
import { closedError, corruptFile, hasErrorCode, invalidValue } from './store-errors.js';
import type { CorruptionReport, RecoveryReport, SalvageReport, StoreContext } from './store-options.js';

/** Entries encoded per write when restoring a document. */
const RESTORE_CHUNK = 1000;

/** `fs.fdatasync` as a promise (one, where `FileHandle.datasync` makes several). */
const fdatasyncOf = promisify(fdatasync);

/**
 * Appends, reads and prunes share a readers–writer lock: appends (one at a time, in call order)
 * and reads run together, prune, restore, salvage and close run alone. The index only ever covers
 * whole records that are written (and, with `always`, fsynced), so a read never sees an unfinished
 * append. A failed append is cut off the file before the next one starts.
 */
export class DocumentLog {
  readonly docId: string;
  readonly checkpoints: CheckpointFile;
  /** Calls in progress on this document; the store only closes idle documents to free handles. */
  active = 0;
  readonly #path: string;
  readonly #context: StoreContext;
  readonly #lock = new RwLock();
  /** The scan of the file, once started; undefined again after a reset. Stays rejected on corruption. */
  #opened: Promise<void> | undefined;
  /** Undefined while the file does not exist. */
  #handle: FileHandle | undefined;
  /** The seq before the first record in the file: the last pruned one. */
  #baseSeq = 0;
  /** Where each record starts: record i holds seq `#baseSeq + 1 + i`. */
  #offsets: number[] = [];
  /** Where the last record ends. */
  #size = 0;
  /** Settles when the last append called so far has; the next one starts after it. */
  #appending: Promise<void> = Promise.resolve();
  /**
   * Removes what a failed append left in the file, when doing so right away failed too. Runs
   * before anything else touches the file, so the failed entries never come back.
   */
  #repair: (() => Promise<void>) | undefined;
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

  /** True when nothing is running or waiting on this document, and nothing is left to repair. */
  get idle(): boolean {
    return this.active === 0 && this.#repair === undefined;
  }

  /**
   * Appends entries atomically, after every append called before (one at a time): one write (on
   * the event loop: a copy into the page cache) and, with `always`, one fdatasync (in the thread
   * pool). On any failure the file is cut back to where the batch began (and fsynced), the index
   * is unchanged, and the error is thrown: nothing of the batch is stored.
   */
  append(entries: readonly EntryInput[]): Promise<LogEntry[]> {
    const result = this.#appending.then(() => this.#lock.shared(() => this.#appendNow(entries)));
    this.#appending = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
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
      await this.#runRepair();
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
      await this.#runRepair();
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
        await this.#datasync(handle);
        this.#context.stats.syncs += 1;
      } catch (error) {
        this.#syncFailure ??= { error };
      }
    });
  }

  /**
   * Checks the log file as it is on disk and, unless `dryRun`, keeps only its valid prefix: copies
   * the file beside it (`<file>.damaged-<time>`), cuts it after the last whole record and drops the
   * checkpoints beyond the new head (copying their file first too). Reopens from disk afterwards.
   */
  salvage(dryRun: boolean): Promise<SalvageReport> {
    return this.#lock.exclusive(async () => {
      if (this.#closed) throw closedError();
      await this.#runRepair();
      // Read from disk as it is now, whatever an earlier open found.
      await this.#reset();
      const report: SalvageReport = {
        docId: this.docId,
        file: this.#path,
        state: 'missing',
        keptEntries: 0,
        head: 0,
        droppedEntries: 0,
        droppedBytes: 0,
        droppedCheckpoints: [],
        copies: [],
        applied: !dryRun,
      };
      let handle: FileHandle;
      try {
        handle = await open(this.#path, 'r+');
      } catch (error) {
        if (hasErrorCode(error, 'ENOENT')) return report;
        throw error;
      }
      try {
        const survey = await surveyLog(handle, this.#path);
        report.state =
          survey.damage !== undefined ? 'damaged' : survey.validEnd < survey.size ? 'torn' : 'intact';
        report.keptEntries = survey.offsets.length;
        report.head = survey.baseSeq + survey.offsets.length;
        report.droppedEntries = survey.damage?.lostEntries ?? 0;
        report.droppedBytes = survey.size - survey.validEnd;
        const stamp = new Date().toISOString().replace(/[:.]/g, '-');
        if (report.droppedBytes > 0 && !dryRun) {
          report.copies.push(await keepCopy(this.#path, stamp));
          await handle.truncate(survey.validEnd);
          await handle.sync();
        }
        const checkpoints = await this.checkpoints.salvage(report.head, dryRun, (file) =>
          keepCopy(file, stamp),
        );
        report.droppedCheckpoints = checkpoints.dropped;
        if (checkpoints.copy !== undefined) report.copies.push(checkpoints.copy);
        return report;
      } finally {
        await handle.close();
      }
    });
  }

  /** Lets appends called before finish, fsyncs what `interval` has not yet, and closes the file. */
  async close(): Promise<void> {
    await this.#appending;
    await this.#lock.exclusive(async () => {
      if (this.#closed) return;
      this.#closed = true;
      const handle = this.#handle;
      this.#handle = undefined;
      try {
        await this.#runRepair();
        if (handle === undefined) return;
        if (this.#syncFailure !== undefined) throw this.#syncFailure.error;
        if (this.#dirty) {
          await this.#datasync(handle);
          this.#context.stats.syncs += 1;
        }
      } finally {
        await handle?.close();
      }
    });
  }

  #head(): number {
    return this.#baseSeq + this.#offsets.length;
  }

  /**
   * Runs the scan of the file once (again after a reset); rejects once closed. The call that ran
   * the scan also runs the `onRecovery` hook, and sees its error, which does not undo the repair.
   * A file found corrupt stays refused (CORRUPT_ENTRY) until salvaged; other failures are retried.
   */
  #ready(): Promise<void> {
    if (this.#closed) return Promise.reject(closedError());
    if (this.#opened !== undefined) return this.#opened;
    const scan = this.#scan();
    const opened = scan.then(
      () => undefined,
      (error: unknown) => {
        if (!isYStateError(error, ErrorCode.CORRUPT_ENTRY)) this.#opened = undefined;
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

  /**
   * Opens the file, indexes its records and truncates a torn tail, which it reports. Damage before
   * the tail is reported through `onCorruption` and refused with CORRUPT_ENTRY; the file stays as
   * it is.
   */
  async #scan(): Promise<RecoveryReport | undefined> {
    await this.#runRepair();
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
    let damage: CorruptionReport | undefined;
    try {
      const survey = await surveyLog(handle, this.#path);
      if (survey.damage === undefined) {
        const { size, validEnd } = survey;
        // Read-only, a tail beyond the last whole record is skipped, not cut: it may be an append in progress.
        if (validEnd < size && !this.#context.readOnly) {
          await handle.truncate(validEnd);
          if (this.#context.fsync !== 'never') await handle.sync();
        }
        this.#handle = handle;
        this.#baseSeq = survey.baseSeq;
        this.#offsets = survey.offsets;
        this.#size = validEnd;
        if (validEnd === size || this.#context.readOnly) return undefined;
        return {
          docId: this.docId,
          file: this.#path,
          truncatedBytes: size - validEnd,
          validEntries: survey.offsets.length,
        };
      }
      damage = { docId: this.docId, file: this.#path, ...survey.damage };
    } catch (error) {
      await handle.close();
      throw error;
    }
    await handle.close();
    const error = corruptFile(this.#path, describeDamage(damage));
    try {
      this.#context.reportCorruption(damage);
    } catch (hookError) {
      const detail = hookError instanceof Error ? hookError.message : String(hookError);
      throw new YStateError({
        code: ErrorCode.CORRUPT_ENTRY,
        message: `${error.message} (and the onCorruption hook failed: ${detail})`,
        cause: hookError,
      });
    }
    throw error;
  }

  async #appendNow(entries: readonly EntryInput[]): Promise<LogEntry[]> {
    await this.#ready();
    if (this.#syncFailure !== undefined) {
      const { error } = this.#syncFailure;
      this.#syncFailure = undefined;
      throw error;
    }
    // Every await below is skipped when there is nothing to wait for: an append is on every
    // update's path, and each await costs a promise and a turn of the microtask queue.
    if (this.#repair !== undefined) await this.#runRepair();
    const first = this.#head() + 1;
    const stored = entries.map((entry, i) => storedEntry(entry, first + i));
    const { bytes, starts } = encodeRecords(stored.map((entry) => encodeEntry(entry)));
    const created = this.#handle === undefined;
    const handle = this.#handle ?? (await this.#create());
    const position = this.#size;
    const { io } = this.#context;
    try {
      if (io.beforeWrite) await io.beforeWrite(this.docId);
      writeFullySync(handle, bytes, position);
      this.#context.stats.writes += 1;
      if (this.#context.fsync === 'always') {
        await this.#datasync(handle);
        this.#context.stats.syncs += 1;
      }
    } catch (error) {
      await this.#undo(position, created);
      throw error;
    }
    for (const start of starts) this.#offsets.push(position + start);
    this.#size = position + bytes.length;
    if (this.#context.fsync === 'interval') this.#dirty = true;
    this.#context.stats.appendedEntries += stored.length;
    return stored;
  }

  /**
   * Takes a failed append off the file: cuts it back to `position` and fsyncs, or removes the file
   * when this append created it. When that fails too, the repair is kept and runs before the next
   * call touches the file.
   */
  async #undo(position: number, created: boolean): Promise<void> {
    const sync = this.#context.fsync !== 'never';
    let repair: () => Promise<void>;
    if (created) {
      const handle = this.#handle;
      this.#handle = undefined;
      this.#size = 0;
      await handle?.close().catch(() => undefined);
      repair = async () => {
        await rm(this.#path, { force: true });
        if (sync) await syncDirectory(dirname(this.#path));
      };
    } else {
      repair = async () => {
        const handle = await open(this.#path, 'r+');
        try {
          await handle.truncate(position);
          if (sync) await this.#datasync(handle);
        } finally {
          await handle.close();
        }
      };
    }
    try {
      await repair();
    } catch {
      this.#repair = repair;
    }
  }

  /** Runs a pending repair; throws (and keeps it pending) when it fails again. */
  async #runRepair(): Promise<void> {
    if (this.#repair === undefined) return;
    await this.#repair();
    this.#repair = undefined;
  }

  /** fdatasyncs the log file (its descriptor: see `fdatasyncOf`), through the fault-injection hook. */
  async #datasync(handle: FileHandle): Promise<void> {
    const { io } = this.#context;
    if (io.beforeSync) await io.beforeSync(this.docId);
    await fdatasyncOf(handle.fd);
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

/** Copies `file` to `<file>.damaged-<stamp>` and makes the copy durable; returns its path. */
async function keepCopy(file: string, stamp: string): Promise<string> {
  const copy = `${file}.damaged-${stamp}`;
  await copyFile(file, copy);
  const handle = await open(copy, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
  await syncDirectory(dirname(copy));
  return copy;
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
