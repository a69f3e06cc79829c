/**
 * `ystate serve`: parses its options, starts the server (with scheduled backups when asked) and
 * shuts it down gracefully on SIGTERM/SIGINT.
 */

import type { Logger } from 'pino';
import { type CliContext, ExitCode } from '../command.js';
import { createLogger } from '../logger.js';
import { isUsageError, sharedStoreFlag } from '../options.js';
import { redactSeeds } from '../redis-cluster.js';
import type { RunningServer } from '../serve.js';
import { parseServeArgs, serveUsage } from '../serve-options.js';
import { explainStartFailure, type ListenTarget } from '../start-failure.js';
import { redactUrl } from '../store.js';

/** How long a graceful shutdown may take before the process gives up and exits 1. */
const SHUTDOWN_TIMEOUT_MS = 30_000;

/** Runs `ystate serve` until a signal stops it. */
export async function serveCommand(argv: readonly string[], context: CliContext): Promise<number> {
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
    redisCluster: config.redisCluster && redactSeeds(config.redisCluster),
    postgres: config.postgres && redactUrl(config.postgres),
  };
  logger.debug({ config: shown, sources }, 'configuration');
  const shared = sharedStoreFlag(config);
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

  let running: RunningServer;
  try {
    // Loaded once the options are valid: a usage error answers without loading the server.
    const { startServe } = await import('../serve.js');
    running = await startServe(config, logger);
  } catch (error) {
    return reportStartFailure(error, context, logger, config);
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

/**
 * Prints why the server could not start; usage and configuration errors exit 2, others 1. An
 * expected failure (port in use, store locked or unreachable) is one line with what to do; an
 * unexpected one is logged with its stack.
 */
function reportStartFailure(
  error: unknown,
  context: CliContext,
  logger?: Logger,
  target?: ListenTarget,
): number {
  const usage = isUsageError(error);
  const explained = target === undefined ? undefined : explainStartFailure(error, target);
  const message = explained ?? (error instanceof Error ? error.message : String(error));
  if (logger !== undefined && !usage) {
    if (explained !== undefined) logger.fatal(`cannot start: ${explained}`);
    else logger.fatal({ err: error }, `cannot start: ${message}`);
  }
  // On a terminal the fatal log line already says it; elsewhere stderr is where people look.
  if (logger === undefined || usage || !context.stdout.isTTY)
    context.stderr.write(`ystate serve: ${usage ? message : `cannot start: ${message}`}\n`);
  if (usage) context.stderr.write('Run `ystate serve --help` for the options.\n');
  return usage ? ExitCode.USAGE : ExitCode.FAILED;
}
