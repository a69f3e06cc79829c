/**
 * `FileUpdateLog`: the embedded default `UpdateLog`. One directory per store, per document an
 * append-only log file and a checkpoint file. Layout, record format, fsync policies, recovery and
 * pruning are described in docs/file-store.md.
 */

import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import {
  type AppendBatch,
  assertRangeBound,
  assertStorableEntry,
  copyEntry,
  type EntryInput,
  ErrorCode,
  type LogEntry,
  type SeqRange,
  toYStateError,
  type UpdateLog,
  YStateError,
} from '@ystate/core';
import { DocumentLog } from './document-log.js';
import { docIdOfStem, fileStemOf } from './file-names.js';
import { closedError, hasErrorCode, invalidValue, STORAGE_FAILURE } from './store-errors.js';
import { lockStore } from './store-lock.js';
import type {
  FileLogOptions,
  FileLogStats,
  FsyncPolicy,
  SalvageReport,
  StoreContext,
} from './store-options.js';

const fsyncPolicies: readonly FsyncPolicy[] = ['always', 'interval', 'never'];
/** A document's files: `<stem>.log` and `<stem>.ckpt`; temp files add `.tmp`. */
const docFileName = /^([^.]+)\.(?:log|ckpt)$/;
const tempFileName = /^[^.]+\.(?:log|ckpt)\.tmp$/;

/** Opens (creating when missing) the file store in `options.dir`. */
export function openFileLog(options: FileLogOptions): Promise<FileUpdateLog> {
  return FileUpdateLog.open(options);
}

/** An `UpdateLog` kept in append-only files, one per document, for a single node. */
export class FileUpdateLog implements UpdateLog {
  /** The store directory, absolute. */
  readonly dir: string;
  readonly fsync: FsyncPolicy;
  readonly #context: StoreContext;
  readonly #stats: FileLogStats;
  readonly #maxOpenDocuments: number;
  readonly #intervalMs: number;
  readonly #unlock: () => Promise<void>;
  /** Open documents, least recently used first. */
  readonly #docs = new Map<string, DocumentLog>();
  /** Closes of evicted documents and interval fsync rounds, awaited by close(). */
  readonly #background = new Set<Promise<void>>();
  #backgroundFailure: { error: unknown } | undefined;
  #timer: NodeJS.Timeout | undefined;
  #closing: Promise<void> | undefined;

  private constructor(
    dir: string,
    options: Settings & { readOnly: boolean },
    hooks: Pick<FileLogOptions, 'onRecovery' | 'onCorruption' | 'ioHooks'>,
    unlock: () => Promise<void>,
  ) {
    this.dir = dir;
    this.fsync = options.fsync;
    this.#stats = { appendedEntries: 0, writes: 0, syncs: 0 };
    this.#context = {
      dir,
      fsync: options.fsync,
      keepCheckpoints: options.keepCheckpoints,
      readOnly: options.readOnly,
      stats: this.#stats,
      io: hooks.ioHooks ?? {},
      report: (report) => hooks.onRecovery?.(report),
      reportCorruption: (report) => hooks.onCorruption?.(report),
    };
    this.#maxOpenDocuments = options.maxOpenDocuments;
    this.#intervalMs = options.fsyncIntervalMs;
    this.#unlock = unlock;
    if (this.fsync === 'interval') this.#schedule();
  }

  /** Opens (creating when missing) the file store in `options.dir`. Prefer `openFileLog`. */
  static async open(options: FileLogOptions): Promise<FileUpdateLog> {
    const settings = checkOptions(options);
    const dir = resolve(options.dir);
    if (options.readOnly === true) return FileUpdateLog.#openReadOnly(dir, settings, options);
    try {
      await mkdir(dir, { recursive: true });
      const unlock = await lockStore(dir);
      try {
        // Leftovers of rewrites a crash interrupted; the files they were to replace are intact.
        for (const name of await readdir(dir)) {
          if (tempFileName.test(name)) await rm(join(dir, name), { force: true });
        }
      } catch (error) {
        await unlock();
        throw error;
      }
      return new FileUpdateLog(dir, { ...settings, readOnly: false }, options, unlock);
    } catch (error) {
      throw toYStateError(error, STORAGE_FAILURE);
    }
  }

  /** An existing store, neither created nor locked (see `FileLogOptions.readOnly`). */
  static async #openReadOnly(
    dir: string,
    settings: Settings,
    hooks: Pick<FileLogOptions, 'onRecovery' | 'onCorruption' | 'ioHooks'>,
  ): Promise<FileUpdateLog> {
    const info = await stat(dir).catch((error: unknown) => {
      if (hasErrorCode(error, 'ENOENT'))
        throw invalidConfig(`no store directory at ${dir}: it does not exist`);
      throw toYStateError(error, STORAGE_FAILURE);
    });
    if (!info.isDirectory()) throw invalidConfig(`no store directory at ${dir}: it is not a directory`);
    return new FileUpdateLog(dir, { ...settings, readOnly: true }, hooks, async () => undefined);
  }

  /** Counters since open: appended entries, writes of appends, fsyncs after appends. */
  get stats(): FileLogStats {
    return { ...this.#stats };
  }

  /**
   * Appends a batch atomically; resolves once it is written (and, with fsync `always`, fsynced).
   * Appends to one document run one at a time, in call order. Throws INVALID_VALUE, appending
   * nothing, when any entry is malformed; STORAGE_FAILED (not retryable) when a write or fdatasync
   * fails, after cutting the batch off the file: nothing of it is stored, and the next append works
   * once the cause is gone. The payloads are copied at once.
   */
  async append(docId: string, entries: readonly EntryInput[]): Promise<LogEntry[]> {
    this.#assertOpen();
    this.#assertWritable();
    const inputs = entries.map((entry, index) =>
      copyEntry(assertStorableEntry(entry, `entry ${index} for "${docId}"`)),
    );
    if (inputs.length === 0) {
      fileStemOf(docId);
      return [];
    }
    return this.#use(docId, (doc) => doc.append(inputs));
  }

  /**
   * Appends batches to several documents: every batch's records are written first, then the
   * fdatasyncs run together in the thread pool. Each batch is atomic and settles on its own, in
   * the order given; batches of one document run in that order.
   */
  appendMany(batches: readonly AppendBatch[]): Promise<PromiseSettledResult<LogEntry[]>[]> {
    return Promise.allSettled(batches.map((batch) => this.append(batch.docId, batch.entries)));
  }

  async read(docId: string, range: SeqRange = {}): Promise<LogEntry[]> {
    this.#assertOpen();
    assertRangeBound(range.from, 'from');
    assertRangeBound(range.to, 'to');
    return this.#use(docId, (doc) => doc.read(range));
  }

  async head(docId: string): Promise<number> {
    this.#assertOpen();
    return this.#use(docId, (doc) => doc.head());
  }

  async latestCheckpoint(docId: string, atOrBefore?: number): Promise<LogEntry | undefined> {
    this.#assertOpen();
    if (atOrBefore !== undefined && Number.isNaN(atOrBefore)) {
      throw invalidValue('latestCheckpoint: atOrBefore must be a number');
    }
    return this.#use(docId, (doc) => doc.checkpoints.latest(atOrBefore));
  }

  /**
   * Stores a checkpoint, superseding one stored at the same seq. Throws INVALID_VALUE unless it is
   * a well-formed entry of kind `checkpoint` whose seq names an appended entry.
   */
  async storeCheckpoint(docId: string, checkpoint: LogEntry): Promise<void> {
    this.#assertOpen();
    this.#assertWritable();
    const where = `checkpoint for "${docId}"`;
    const copy = copyEntry(assertStorableEntry(checkpoint, where));
    if (checkpoint.kind !== 'checkpoint') {
      throw invalidValue(`${where}: kind must be "checkpoint", got "${checkpoint.kind}"`);
    }
    if (!Number.isSafeInteger(checkpoint.seq) || checkpoint.seq < 1) {
      throw invalidValue(`${where}: seq must be a positive integer, got ${checkpoint.seq}`);
    }
    return this.#use(docId, (doc) => doc.storeCheckpoint({ ...copy, seq: checkpoint.seq }));
  }

  /** Drops entries below `seq` (rewriting the log file atomically) and checkpoints made obsolete. */
  async prune(docId: string, seq: number): Promise<void> {
    this.#assertOpen();
    this.#assertWritable();
    if (typeof seq !== 'number' || Number.isNaN(seq)) throw invalidValue('prune: seq must be a number');
    return this.#use(docId, (doc) => doc.prune(seq));
  }

  /**
   * Writes a document's history with its original seqs (entries may start after 1 when the
   * source was pruned) into a document that has none; restoring a backup uses it. Entries and
   * checkpoints are written as given (already in stored form). Throws DOCUMENT_EXISTS when the
   * document has history, INVALID_VALUE (writing nothing) when seqs are not dense or a checkpoint
   * lies beyond the last entry.
   */
  async restore(
    docId: string,
    entries: readonly LogEntry[],
    checkpoints: readonly LogEntry[],
  ): Promise<void> {
    this.#assertOpen();
    this.#assertWritable();
    const copies = entries.map((entry, index) =>
      copyEntry(assertStorableEntry(entry, `restored entry ${index} for "${docId}"`)),
    );
    copies.forEach((entry, i) => {
      const expected = i === 0 ? entry.seq : (copies[i - 1] as LogEntry).seq + 1;
      if (!Number.isSafeInteger(entry.seq) || entry.seq < 1 || entry.seq !== expected) {
        throw invalidValue(`restored seqs of "${docId}" must be dense and start at 1 or later`);
      }
      if (entry.kind === 'checkpoint') {
        throw invalidValue(
          `restored entry ${entry.seq} of "${docId}" is a checkpoint; pass it with the checkpoints`,
        );
      }
    });
    const stored = checkpoints.map((checkpoint, index) => {
      const where = `restored checkpoint ${index} for "${docId}"`;
      const copy = copyEntry(assertStorableEntry(checkpoint, where));
      if (checkpoint.kind !== 'checkpoint') throw invalidValue(`${where}: kind must be "checkpoint"`);
      if (!Number.isSafeInteger(checkpoint.seq) || checkpoint.seq < 1) {
        throw invalidValue(`${where}: seq must be a positive integer, got ${checkpoint.seq}`);
      }
      return { ...copy, seq: checkpoint.seq };
    });
    const lastEntry = copies[copies.length - 1]?.seq;
    const head = lastEntry ?? Math.max(0, ...stored.map((checkpoint) => checkpoint.seq));
    const beyond = stored.find((checkpoint) => checkpoint.seq > head);
    if (beyond !== undefined) {
      throw invalidValue(
        `restored checkpoint at seq ${beyond.seq} of "${docId}" lies beyond its last entry (${head})`,
      );
    }
    if (head === 0) {
      fileStemOf(docId);
      return;
    }
    return this.#use(docId, (doc) => doc.restore(copies, stored, head));
  }

  /**
   * Checks a document's log file on disk and, unless `dryRun`, keeps its valid prefix: whatever
   * follows the first bad record (a torn tail, or damage before the tail that makes the document
   * refuse to open) is cut off, after the file is copied beside itself (`<file>.damaged-<time>`);
   * checkpoints beyond the new head are dropped the same way. Reports what it found and dropped.
   * For operators (`ystate salvage`): entries after the damage are lost, and their seqs are reused.
   */
  async salvage(docId: string, options: { dryRun?: boolean } = {}): Promise<SalvageReport> {
    this.#assertOpen();
    return this.#use(docId, (doc) => doc.salvage(options.dryRun === true));
  }

  /** The documents with a log or checkpoint file, decoded from the file names, sorted. */
  async docIds(): Promise<string[]> {
    this.#assertOpen();
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (error) {
      throw toYStateError(error, STORAGE_FAILURE);
    }
    const ids = new Set<string>();
    for (const name of names) {
      const stem = docFileName.exec(name)?.[1];
      const docId = stem === undefined ? undefined : docIdOfStem(stem);
      if (docId !== undefined) ids.add(docId);
    }
    return [...ids].sort();
  }

  /**
   * Lets queued appends finish, fsyncs what `interval` has not yet, closes every file and releases
   * the directory. Later calls reject with DOCUMENT_CLOSED; closing again is harmless.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    clearTimeout(this.#timer);
    const failures: unknown[] = [];
    const docs = [...this.#docs.values()];
    this.#docs.clear();
    for (const result of await Promise.allSettled(docs.map((doc) => doc.close()))) {
      if (result.status === 'rejected') failures.push(result.reason);
    }
    while (this.#background.size > 0) await Promise.all(this.#background);
    if (this.#backgroundFailure !== undefined) failures.push(this.#backgroundFailure.error);
    try {
      await this.#unlock();
    } catch (error) {
      failures.push(error);
    }
    if (failures.length > 0) throw toYStateError(failures[0], STORAGE_FAILURE);
  }

  /** Runs `task` on the document, opening it when needed, and closes idle documents beyond the limit. */
  async #use<T>(docId: string, task: (doc: DocumentLog) => Promise<T>): Promise<T> {
    // Everything up to task() runs synchronously, so appends queue in call order.
    let doc = this.#docs.get(docId);
    if (doc === undefined) {
      doc = new DocumentLog(docId, fileStemOf(docId), this.#context);
    } else {
      this.#docs.delete(docId);
    }
    this.#docs.set(docId, doc);
    doc.active += 1;
    try {
      return await task(doc);
    } catch (error) {
      throw toYStateError(error, STORAGE_FAILURE);
    } finally {
      doc.active -= 1;
      this.#evictIdle();
    }
  }

  #evictIdle(): void {
    if (this.#closing !== undefined) return;
    for (const [docId, doc] of this.#docs) {
      if (this.#docs.size <= this.#maxOpenDocuments) return;
      if (!doc.idle) continue;
      this.#docs.delete(docId);
      this.#track(doc.close());
    }
  }

  /** Every `fsyncIntervalMs`, fsyncs the documents with unsynced appends; the next round starts after this one. */
  #schedule(): void {
    this.#timer = setTimeout(() => {
      const round = Promise.all([...this.#docs.values()].map((doc) => doc.syncIfDirty())).then(() => {
        if (this.#closing === undefined) this.#schedule();
      });
      this.#track(round);
    }, this.#intervalMs);
    // The timer alone must not keep a process alive; close() fsyncs what is left.
    this.#timer.unref();
  }

  #track(work: Promise<unknown>): void {
    const tracked = work.then(
      () => undefined,
      (error: unknown) => {
        this.#backgroundFailure ??= { error };
      },
    );
    this.#background.add(tracked);
    void tracked.finally(() => this.#background.delete(tracked));
  }

  #assertOpen(): void {
    if (this.#closing !== undefined) throw closedError();
  }

  #assertWritable(): void {
    if (this.#context.readOnly) {
      throw new YStateError({
        code: ErrorCode.FORBIDDEN,
        message: `the file store in ${this.dir} was opened read-only`,
      });
    }
  }
}

/** The options with defaults applied, hooks aside. */
type Settings = Required<
  Omit<FileLogOptions, 'dir' | 'onRecovery' | 'onCorruption' | 'ioHooks' | 'readOnly'>
>;

function checkOptions(options: FileLogOptions): Settings {
  if (typeof options?.dir !== 'string' || options.dir.length === 0) {
    throw invalidConfig('openFileLog: dir must be a non-empty path');
  }
  const fsync = options.fsync ?? 'always';
  if (!fsyncPolicies.includes(fsync)) {
    throw invalidConfig(
      `openFileLog: fsync must be one of ${fsyncPolicies.join(', ')}, got ${String(fsync)}`,
    );
  }
  const fsyncIntervalMs = options.fsyncIntervalMs ?? 1000;
  if (!Number.isFinite(fsyncIntervalMs) || fsyncIntervalMs <= 0) {
    throw invalidConfig(`openFileLog: fsyncIntervalMs must be a positive number, got ${fsyncIntervalMs}`);
  }
  const keepCheckpoints = options.keepCheckpoints ?? 3;
  if (!Number.isSafeInteger(keepCheckpoints) || keepCheckpoints < 1) {
    throw invalidConfig(`openFileLog: keepCheckpoints must be a positive integer, got ${keepCheckpoints}`);
  }
  const maxOpenDocuments = options.maxOpenDocuments ?? 256;
  if (!Number.isSafeInteger(maxOpenDocuments) || maxOpenDocuments < 1) {
    throw invalidConfig(`openFileLog: maxOpenDocuments must be a positive integer, got ${maxOpenDocuments}`);
  }
  return { fsync, fsyncIntervalMs, keepCheckpoints, maxOpenDocuments };
}

function invalidConfig(message: string): YStateError {
  return new YStateError({ code: ErrorCode.INVALID_CONFIG, message });
}
