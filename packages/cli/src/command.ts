/**
 * What the operator commands share: parsing (with the store options and the config file), help,
 * opening the store, progress on stderr, results on stdout, and exit codes (0 done, 1 failed,
 * 2 bad usage).
 */

import type { Logger } from 'pino';
import { createLogger } from './logger.js';
import {
  type CommandSpec,
  formatRows,
  isUsageError,
  optionRows,
  type ParsedCommand,
  parseCommand,
  type StoreConfig,
  switchRows,
  type ValueOption,
} from './options.js';
import { Progress, type ProgressOptions, type ProgressStream } from './progress.js';
import { CONFIG_FILE_KEYS } from './serve-options.js';
import { type OpenedStore, type OpenStoreOptions, openStore } from './store.js';

/** Exit codes of the `ystate` process. */
export const ExitCode = { OK: 0, FAILED: 1, USAGE: 2 } as const;

/** What the CLI reads from and writes to; the process's own by default (tests may pass others). */
export interface CliContext {
  env: Readonly<Record<string, string | undefined>>;
  cwd: string;
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  /** Resolves with the first shutdown signal (SIGTERM, SIGINT). */
  signals: (onSignal: (signal: NodeJS.Signals) => void) => void;
}

/** The help of a command. */
export interface CommandHelp {
  /** `ystate backup --out FILE [options]` */
  usage: string;
  /** What it does, a few lines. */
  description: readonly string[];
  /** Examples, one command a line. */
  examples: readonly string[];
}

/** A command's parsed arguments, and the tools to do its work. */
export interface CommandIo {
  readonly context: CliContext;
  /** Warnings from the store (recovered files, connection trouble) go to stderr. */
  readonly logger: Logger;
  /** Writes a line of output to stdout, waiting when the reader is slower. */
  print(line: string): Promise<void>;
  /** Writes a note to stderr (progress, outcomes a script does not parse). */
  note(line: string): void;
  /** A progress line on stderr. */
  progress(label: string, options: ProgressOptions): Progress;
  /** Opens the store the options name; closed by `run` after the command. */
  openStore(store: StoreConfig, options?: OpenStoreOptions): Promise<OpenedStore>;
}

/**
 * Parses the arguments, checks them with `prepare` (which throws `usageError` for bad combinations:
 * exit 2), runs `body` and prints its failure (exit 1). Stores opened through `io` are closed
 * afterwards. Resolves with the exit code.
 */
export async function runCommand<O extends Record<string, ValueOption>, W extends string, T>(
  spec: Omit<CommandSpec<O, W>, 'configKeys'>,
  help: CommandHelp,
  argv: readonly string[],
  context: CliContext,
  prepare: (parsed: ParsedCommand<O, W>) => T,
  body: (prepared: T, io: CommandIo) => Promise<number | undefined>,
): Promise<number> {
  const name = `ystate ${spec.name}`;
  let prepared: T;
  try {
    const parsed = await parseCommand(
      { ...spec, configKeys: CONFIG_FILE_KEYS },
      argv,
      context.env,
      context.cwd,
    );
    if (parsed === undefined) {
      context.stdout.write(`${commandUsage(spec, help)}\n`);
      return ExitCode.OK;
    }
    prepared = prepare(parsed);
  } catch (error) {
    if (!isUsageError(error)) throw error;
    context.stderr.write(`${name}: ${(error as Error).message}\nRun \`${name} --help\` for the options.\n`);
    return ExitCode.USAGE;
  }
  const opened: OpenedStore[] = [];
  const stdout = context.stdout;
  // A reader that went away (`ystate replay … | head`) ends the output, not with a crash.
  let closedPipe = false;
  stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
    closedPipe = true;
  });
  const io: CommandIo = {
    context,
    logger: createLogger('warn', 'pretty', context.stderr),
    async print(line) {
      if (closedPipe) return;
      if (!stdout.write(`${line}\n`)) await writable(stdout);
    },
    note: (line) => {
      context.stderr.write(`${line}\n`);
    },
    progress: (label, options) => new Progress(context.stderr as ProgressStream, label, options),
    async openStore(store, options) {
      const made = await openStore(store, io.logger, {
        lockedHint:
          'a server has this data directory open: stop it first (a running server can back itself up: serve --backup-every)',
        ...options,
      });
      opened.push(made);
      return made;
    },
  };
  let code: number;
  try {
    code = (await body(prepared, io)) ?? ExitCode.OK;
  } catch (error) {
    context.stderr.write(`${name}: ${error instanceof Error ? error.message : String(error)}\n`);
    code = ExitCode.FAILED;
  }
  for (const store of opened.reverse()) {
    await store.close().catch((error: unknown) => {
      context.stderr.write(`${name}: closing the store failed: ${String(error)}\n`);
      code = ExitCode.FAILED;
    });
  }
  return code;
}

/** The help text of a command. */
export function commandUsage<O extends Record<string, ValueOption>, W extends string>(
  spec: Omit<CommandSpec<O, W>, 'configKeys'>,
  help: CommandHelp,
): string {
  return [
    `Usage: ${help.usage}`,
    '',
    ...help.description,
    '',
    'Options:',
    ...formatRows([
      ...optionRows(spec.options),
      ...switchRows(spec.switches),
      ['  --config FILE', 'JSON config file (the one `ystate serve` reads); env YSTATE_CONFIG'],
      ['  -h, --help', 'print this help'],
    ]),
    '',
    'Store options take precedence flag > environment > config file > default, as for `ystate serve`.',
    '',
    'Examples:',
    ...help.examples.map((example) => `  ${example}`),
  ].join('\n');
}

/** Resolves once `stream` takes more output, or can take none any more. */
function writable(stream: NodeJS.WriteStream): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      for (const event of ['drain', 'close', 'error']) stream.off(event, done);
      resolve();
    };
    for (const event of ['drain', 'close', 'error']) stream.on(event, done);
  });
}
