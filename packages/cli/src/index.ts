/**
 * ystate — the command line of ystate (`ystate serve`), and the pieces it is made of for programs
 * that want to start the same server themselves.
 */

export type { CliContext } from './cli.js';
export { ExitCode, main } from './cli.js';
export { createLogger } from './logger.js';
export type { RunningServer } from './serve.js';
export { DEMO_DIR, startServe } from './serve.js';
export type {
  LogFormat,
  LogLevel,
  OptionKey,
  OptionSource,
  ServeConfig,
  ServeInvocation,
} from './serve-options.js';
export { LOG_FORMATS, LOG_LEVELS, parseServeArgs, serveUsage, usageError } from './serve-options.js';
export type { OpenedStore } from './store.js';
export { openStore, redactUrl } from './store.js';
