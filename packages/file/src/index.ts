/**
 * @ystate/file — the embedded default store of ystate: an `UpdateLog` kept in one directory, with
 * an append-only, CRC-checked log file and a checkpoint file per document, group commit, fsync
 * policies, crash recovery that truncates a torn tail, and pruning by atomic rewrite. Single node;
 * see docs/file-store.md.
 */

export { FileUpdateLog, openFileLog } from './file-log.js';
export type { FileLogOptions, FileLogStats, FsyncPolicy, RecoveryReport } from './store-options.js';
