/**
 * The `ystate` command: dispatches sub-commands and turns failures into exit codes
 * (0 done, 1 failed while running, 2 bad usage or configuration).
 */

import { readFileSync } from 'node:fs';
import { ErrorCode, isYStateError } from '@ystate/core';
import type { Logger } from 'pino';
import { createLogger } from './logger.js';
import { startServe } from './serve.js';
import { parseServeArgs, serveUsage } from './serve-options.js';
import { redactUrl } from './store.js';

/** Exit codes of the `ystate` process. */
export const ExitCode = { OK: 0, FAILED: 1, USAGE: 2 } as const;

/** How long a graceful shutdown may take before the process gives up and exits 1. */
const SHUTDOWN_TIMEOUT_MS = 30_000;

/** What the CLI reads from and writes to; the process's own by default (tests may pass others). */
export interface CliContext {
  env: Readonly<Record<string, string | undefined>>;
  cwd: string;
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WritableStream;
  /** Resolves with the first shutdown signal (SIGTERM, SIGINT). */
  signals: (onSignal: (signal: NodeJS.Signals) => void) => void;
}

const USAGE = `Usage: ystate <command> [options]

Commands:
  serve     run a ystate server (y-websocket, HTTP API, demo page); see ystate serve --help

Options:
  -h, --help     print this help
  -v, --version  print the version`;

/** Runs the CLI with `argv` (without node and the script); resolves with the exit code. */
export async function main(argv: readonly string[], context: CliContext = processContext()): Promise<number> {
  const [command, ...rest] = argv;
  if (command === '-h' || command === '--help' || command === 'help') {
    context.stdout.write(`${USAGE}\n`);
    return ExitCode.OK;
  }
  if (command === '-v' || command === '--version') {
    context.stdout.write(`${version()}\n`);
    return ExitCode.OK;
  }
  if (command === 'serve') return serve(rest, context);
  const problem = command === undefined ? 'missing command' : `unknown command "${command}"`;
  context.stderr.write(`ystate: ${problem}\n\n${USAGE}\n`);
  return ExitCode.USAGE;
}

async function serve(argv: readonly string[], context: CliContext): Promise<number> {
  let invocation: Awaited<ReturnType<typeof parseServeArgs>>;
  try {
    invocation = await parseServeArgs(argv, context.env, context.cwd);
  } catch (error) {
    return reportStartFailure(error, context);
  }
  if (invocation.help) {
    context.stdout.write(`${serveUsage()}\n`);
    return ExitCode.OK;
  }
  const { config, sources } = invocation;
  const logger = createLogger(
    config.logLevel,
    config.logFormat ?? (context.stdout.isTTY ? 'pretty' : 'json'),
    context.stdout,
  );
  const shown = {
    ...config,
    authSecret: config.authSecret && '***',
    redis: config.redis && redactUrl(config.redis),
    postgres: config.postgres && redactUrl(config.postgres),
  };
  logger.debug({ config: shown, sources }, 'configuration');
  const shared =
    config.redis !== undefined ? '--redis' : config.postgres !== undefined ? '--postgres' : undefined;
  if (shared !== undefined && sources.data !== 'default') {
    logger.warn(`${shared} is set, so the data directory ${config.data} is not used`);
  }

  // Listen for signals before starting: a SIGTERM that arrives while the store opens (or the
  // moment after the URL is logged) must shut down gracefully, not kill the process.
  let firstSignal: (signal: NodeJS.Signals) => void = () => undefined;
  const signalled = new Promise<NodeJS.Signals>((resolve) => {
    firstSignal = resolve;
  });
  let stopping = false;
  let forceExit: (code: number) => void = () => undefined;
  context.signals((signal) => {
    if (!stopping) {
      stopping = true;
      firstSignal(signal);
      return;
    }
    logger.warn({ signal }, 'second signal during shutdown: exiting now');
    forceExit(ExitCode.FAILED);
  });

  let running: Awaited<ReturnType<typeof startServe>>;
  try {
    running = await startServe(config, logger);
  } catch (error) {
    return reportStartFailure(error, context, logger);
  }

  const signal = await signalled;
  return new Promise<number>((resolve) => {
    forceExit = resolve;
    logger.info({ signal }, 'shutting down: closing connections and flushing the log');
    const timer = setTimeout(() => {
      logger.error(`shutdown did not finish within ${SHUTDOWN_TIMEOUT_MS / 1000} s`);
      resolve(ExitCode.FAILED);
    }, SHUTDOWN_TIMEOUT_MS);
    running.close().then(
      () => {
        clearTimeout(timer);
        logger.info('stopped');
        resolve(ExitCode.OK);
      },
      (error: unknown) => {
        clearTimeout(timer);
        logger.error({ err: error }, 'shutdown failed');
        resolve(ExitCode.FAILED);
      },
    );
  });
}

/** Prints why the server could not start; usage and configuration errors exit 2, others 1. */
function reportStartFailure(error: unknown, context: CliContext, logger?: Logger): number {
  const usage = isYStateError(error) && error.code === ErrorCode.INVALID_CONFIG;
  const message = error instanceof Error ? error.message : String(error);
  if (logger !== undefined && !usage) logger.fatal({ err: error }, `cannot start: ${message}`);
  // On a terminal the fatal log line already says it; elsewhere stderr is where people look.
  if (logger === undefined || usage || !context.stdout.isTTY)
    context.stderr.write(`ystate serve: ${message}\n`);
  if (usage) context.stderr.write('Run `ystate serve --help` for the options.\n');
  return usage ? ExitCode.USAGE : ExitCode.FAILED;
}

function version(): string {
  const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return manifest.version;
}

function processContext(): CliContext {
  return {
    env: process.env,
    cwd: process.cwd(),
    stdout: process.stdout,
    stderr: process.stderr,
    signals: (onSignal) => {
      process.on('SIGTERM', onSignal);
      process.on('SIGINT', onSignal);
    },
  };
}
