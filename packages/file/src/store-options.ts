/** The options of a file store and the shapes it reports through them. */

/**
 * When appended bytes are fsynced: `always` before `append` resolves (the default), `interval` on a
 * timer every `fsyncIntervalMs`, `never` (left to the operating system).
 */
export type FsyncPolicy = 'always' | 'interval' | 'never';

/** What recovery cut off the end of a file when a document was opened after a crash. */
export interface RecoveryReport {
  docId: string;
  /** The path of the repaired file (the document's log or checkpoint file). */
  file: string;
  /** How many bytes of torn or corrupt tail were removed. */
  truncatedBytes: number;
  /** How many valid records the file holds after the repair. */
  validEntries: number;
}

/**
 * Damage found before the end of a document's log file: not a torn tail a crash leaves, but bytes
 * that went bad with whole records after them. The document refuses to open (CORRUPT_ENTRY) until
 * an operator salvages it (`ystate salvage`, `FileUpdateLog.salvage`).
 */
export interface CorruptionReport {
  docId: string;
  /** The path of the damaged file. */
  file: string;
  /** The byte offset of the first record that fails its checks. */
  damagedAt: number;
  /** The whole records before the damage: what salvaging keeps. */
  validEntries: number;
  /** The seq of the first entry that cannot be read (the one at `damagedAt`). */
  firstLostSeq: number;
  /**
   * The highest seq still found whole after the damage: the entries `firstLostSeq`–`lastFoundSeq`
   * (`lostEntries`) are cut off from the log.
   */
  lastFoundSeq: number;
  /** `lastFoundSeq - firstLostSeq + 1`: the entries from the damage on, which salvaging drops. */
  lostEntries: number;
  /** The records after the damage that are still whole (they frame and pass their CRC). */
  wholeEntriesAfter: number;
  /** Bytes from the damage to the end of the file, which salvaging drops. */
  lostBytes: number;
}

/** What `FileUpdateLog.salvage` found in a document's log file, and what it dropped. */
export interface SalvageReport {
  docId: string;
  /** The path of the document's log file. */
  file: string;
  /**
   * `intact`: nothing to drop; `torn`: a torn tail (which opening the document also cuts);
   * `damaged`: damage before the tail; `missing`: the document has no log file.
   */
  state: 'intact' | 'torn' | 'damaged' | 'missing';
  /** The entries the file keeps: the whole records before the first bad one. */
  keptEntries: number;
  /** The head afterwards: the seq of the last entry kept (or the base seq, when none is). */
  head: number;
  /** Entries dropped: from the first bad record to the highest seq still whole after it (0 for a torn tail). */
  droppedEntries: number;
  /** Bytes cut off the end of the log file. */
  droppedBytes: number;
  /**
   * Seqs of the checkpoints dropped: those beyond the new head, and those still whole after damage
   * in the checkpoint file (a damaged checkpoint's own seq cannot be read).
   */
  droppedCheckpoints: number[];
  /** Copies of the files as they were, beside them (`<file>.damaged-<time>`), when anything was dropped. */
  copies: string[];
  /** False for a dry run, which changes nothing. */
  applied: boolean;
}

/**
 * Fault injection for tests: each hook runs just before the store's system call and fails it by
 * throwing (or rejecting), as if the call had failed with that error. `@ystate/file/testing` has
 * `IoFaults`, which makes the next write or fdatasync of a document fail with EIO.
 */
export interface FileIoHooks {
  /** Before the write of an append's records to a document's log file. */
  beforeWrite?(docId: string): void | Promise<void>;
  /** Before a fdatasync of a document's log file (after an append, or after cutting a failed one off). */
  beforeSync?(docId: string): void | Promise<void>;
}

/** Options of `openFileLog`. */
export interface FileLogOptions {
  /** The store directory; created when missing. One process opens it at a time. */
  dir: string;
  /** Default `always`. */
  fsync?: FsyncPolicy;
  /** The period of the `interval` policy, in milliseconds. Default 1000. */
  fsyncIntervalMs?: number;
  /** Called when opening a document's file truncated a torn tail. */
  onRecovery?: (report: RecoveryReport) => void;
  /**
   * Called when opening a document found damage before the tail of its log file; the call then
   * fails with CORRUPT_ENTRY and the file is left as it is. Log it at error level.
   */
  onCorruption?: (report: CorruptionReport) => void;
  /** Fault injection for tests (see `FileIoHooks`); none by default. */
  ioHooks?: FileIoHooks;
  /** How many checkpoints per document survive a checkpoint file rewrite. Default 3. */
  keepCheckpoints?: number;
  /** How many documents keep their file handle and record index open; idle ones beyond are closed. Default 256. */
  maxOpenDocuments?: number;
  /**
   * Opens an existing store for reading only (default false): the directory is neither created nor
   * locked, so a server may be writing it meanwhile; no file is written or repaired (a torn tail is
   * skipped, not cut: it may be an append in progress); writes fail with FORBIDDEN. Each document
   * is read as it was when first read.
   */
  readOnly?: boolean;
}

/** Counters of a store's work since it was opened, for tests and metrics. */
export interface FileLogStats {
  /** Entries appended to log files. */
  appendedEntries: number;
  /** Writes of appended records to log files (one per append). */
  writes: number;
  /** fsyncs of log files after appends (one per append with `always`, one per dirty file per tick with `interval`). */
  syncs: number;
}

/** What every document of one store shares. */
export interface StoreContext {
  readonly dir: string;
  readonly fsync: FsyncPolicy;
  readonly keepCheckpoints: number;
  readonly readOnly: boolean;
  readonly stats: FileLogStats;
  readonly io: FileIoHooks;
  report(report: RecoveryReport): void;
  reportCorruption(report: CorruptionReport): void;
}
