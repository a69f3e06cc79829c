/**
 * ystate — the command line of ystate (`ystate serve`, `backup`, `restore`, `replay`, `inspect`,
 * `compact`, `migrate`), and the pieces it is made of for programs that want to start the same
 * server, or write and restore backup files, themselves.
 */

export type { ArchiveFileResult, BackupProgress, WriteArchiveFileOptions } from './archive-file.js';
export { isPartialName, removeStalePartials, writeArchiveFile } from './archive-file.js';
export type { BackupSchedule, BackupScheduleOptions } from './backup-schedule.js';
export { removeOldBackups, scheduleBackups, scheduledBackupName } from './backup-schedule.js';
export { main } from './cli.js';
export type { CliContext } from './command.js';
export { ExitCode } from './command.js';
export type { InspectReport } from './commands/inspect.js';
export { createLogger } from './logger.js';
export type { OptionSource, StoreConfig, ValueOption } from './options.js';
export { STORE_OPTIONS } from './options.js';
export type { RunningServer } from './serve.js';
export { DEMO_DIR, startServe } from './serve.js';
export type {
  FsyncPolicy,
  LogFormat,
  LogLevel,
  OptionKey,
  ServeConfig,
  ServeInvocation,
} from './serve-options.js';
export {
  CONFIG_FILE_KEYS,
  durationSchema,
  FSYNC_POLICIES,
  LOG_FORMATS,
  LOG_LEVELS,
  parseServeArgs,
  serveUsage,
  usageError,
} from './serve-options.js';
export type { OpenedStore, OpenStoreOptions } from './store.js';
export { openStore, redactUrl } from './store.js';
