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

/** Options of `openFileLog`. */
export interface FileLogOptions {
  /** The store directory; created when missing. One process opens it at a time. */
  dir: string;
  /** Default `always`. */
  fsync?: FsyncPolicy;
  /** The period of the `interval` policy, in milliseconds. Default 1000. */
  fsyncIntervalMs?: number;
  /** Called when opening a document's file truncated a torn or corrupt tail. */
  onRecovery?: (report: RecoveryReport) => void;
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
  /** `write` calls that appended records to log files (one per group commit). */
  writes: number;
  /** fsyncs of log files after appends (one per group commit with `always`, one per dirty file per tick with `interval`). */
  syncs: number;
}

/** What every document of one store shares. */
export interface StoreContext {
  readonly dir: string;
  readonly fsync: FsyncPolicy;
  readonly keepCheckpoints: number;
  readonly readOnly: boolean;
  readonly stats: FileLogStats;
  report(report: RecoveryReport): void;
}
