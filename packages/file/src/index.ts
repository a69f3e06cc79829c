/**
 * @ystate/file — the embedded default store of ystate: an `UpdateLog` kept in one directory, with
 * an append-only, CRC-checked log file and a checkpoint file per document, atomic appends, fsync
 * policies, crash recovery that truncates a torn tail, refusal (and operator salvage) of damage
 * before the tail, and pruning by atomic rewrite. Single node; see docs/file-store.md.
 */

export { DELIVERY_DIR, FileDeliveryStore } from './delivery-file.js';
export { FileUpdateLog, openFileLog } from './file-log.js';
export type {
  CorruptionReport,
  FileIoHooks,
  FileLogOptions,
  FileLogStats,
  FsyncPolicy,
  RecoveryReport,
  SalvageReport,
} from './store-options.js';
