/**
 * Opens the store a command was asked for: the file log (default), Redis, a Redis Cluster, or
 * PostgreSQL. Each
 * adapter is imported when it is chosen, so a command on the file log does not load ioredis or pg.
 * Stores are opened without codecs: what they hold is read and written as stored.
 */

import { existsSync } from 'node:fs';
import { isIP } from 'node:net';
import { type DeliveryStore, ErrorCode, type SyncBus, type UpdateLog, YStateError } from '@ystate/core';
import type { RedisStore } from '@ystate/redis';
import type { Logger } from 'pino';
import type { StoreConfig } from './options.js';
import { clusterConfigOf, redactSeeds } from './redis-cluster.js';
import type { FsyncPolicy } from './serve-options.js';

/** A log, the bus that goes with it (none for the single-node file log), and how to close both. */
export interface OpenedStore {
  readonly log: UpdateLog;
  readonly bus: SyncBus | undefined;
  /** Where webhook delivery keeps its cursors, leases and status (beside the log, in the same store). */
  readonly deliveries: DeliveryStore;
  /**
   * For the start-up log: `file log in /srv/.ystate`, `redis at redis://host:6379`,
   * `redis cluster at redis://h1:7000,redis://h2:7001`.
   */
  readonly description: string;
  /** Closes the log and the bus. */
  close(): Promise<void>;
}

/** How a store is opened. */
export interface OpenStoreOptions {
  /**
   * `serve` (default) or `operator`: an operator command (compact, restore, migrate) stores the
   * checkpoints it is asked for even while a server holds a document's Redis checkpoint lease.
   */
  role?: 'serve' | 'operator';
  /** Appended to the message when the file store's directory is locked by another process. */
  lockedHint?: string;
  /** The file store's fsync policy (default `always`; ignored by Redis and PostgreSQL). */
  fsync?: FsyncPolicy;
  /** The period of the file store's `interval` policy, in milliseconds (default: the store's, 1000). */
  fsyncIntervalMs?: number;
  /**
   * For commands that only read (replay, inspect): the file store is opened read-only, beside a
   * server that may hold it, and a missing directory is an error rather than created.
   */
  readOnly?: boolean;
  /** The file store's directory must exist already (commands that read the store, like backup). */
  existing?: boolean;
}

/** The file store's default period of the `interval` fsync policy. */
const DEFAULT_FSYNC_INTERVAL_MS = 1000;

/** How long start-up waits for Redis to answer before giving up. */
const REDIS_CONNECT_TIMEOUT_MS = 10_000;

/** Opens the configured store; fails fast (with a clear message) when it cannot be reached. */
export async function openStore(
  config: Pick<StoreConfig, 'data' | 'redis' | 'redisCluster' | 'postgres'>,
  logger: Logger,
  options: OpenStoreOptions = {},
): Promise<OpenedStore> {
  if (config.postgres !== undefined) return openPostgres(config.postgres, logger);
  if (config.redis !== undefined) return openRedis(config.redis, logger, options.role ?? 'serve');
  if (config.redisCluster !== undefined)
    return openRedis({ cluster: config.redisCluster }, logger, options.role ?? 'serve');
  const { FileDeliveryStore, openFileLog } = await import('@ystate/file');
  const hint = options.lockedHint ?? 'one server per data directory; use --redis URL to run several';
  const fsync = options.fsync ?? 'always';
  const readOnly = options.readOnly === true;
  if (options.existing === true && !readOnly && !existsSync(config.data)) {
    throw new YStateError({
      code: ErrorCode.INVALID_CONFIG,
      message: `no store directory at ${config.data}: it does not exist (check --data or YSTATE_DATA; nothing was created)`,
    });
  }
  const log = await openFileLog({
    dir: config.data,
    readOnly,
    fsync,
    ...(options.fsyncIntervalMs !== undefined ? { fsyncIntervalMs: options.fsyncIntervalMs } : {}),
    onRecovery: (report) => logger.warn(report, 'repaired a torn log tail left by a crash'),
    onCorruption: (report) =>
      logger.error(
        report,
        `the log of "${report.docId}" is damaged before its tail: ${report.lostEntries} entries (${report.lostBytes} bytes) ` +
          `from seq ${report.firstLostSeq} on cannot be read; the document refuses to open until \`ystate salvage\` keeps its first ${report.validEntries}`,
      ),
  }).catch((error: unknown) => {
    if (error instanceof YStateError && error.code === ErrorCode.STORE_LOCKED) {
      throw new YStateError({ code: error.code, message: `${error.message} (${hint})`, cause: error });
    }
    if (readOnly && error instanceof YStateError && error.code === ErrorCode.INVALID_CONFIG) {
      const message = `${error.message} (check --data or YSTATE_DATA; nothing was created)`;
      throw new YStateError({ code: error.code, message, cause: error });
    }
    throw error;
  });
  const policy = readOnly
    ? ' (read-only)'
    : fsync === 'always'
      ? ''
      : fsync === 'interval'
        ? ` (fsync every ${options.fsyncIntervalMs ?? DEFAULT_FSYNC_INTERVAL_MS} ms)`
        : ' (fsync never)';
  const deliveries = new FileDeliveryStore(config.data, { readOnly });
  return {
    log,
    bus: undefined,
    deliveries,
    description: `file log in ${config.data}${policy}`,
    close: async () => {
      await deliveries.close();
      await log.close();
    },
  };
}

/** Where Redis is: one server's URL, or the seed URLs of a cluster. */
export type RedisTarget = string | { readonly cluster: readonly string[] };

/** The URL, or the cluster's seed URLs comma-separated, without passwords. */
export function redisAddress(target: RedisTarget): string {
  return typeof target === 'string' ? redactUrl(target) : redactSeeds(target.cluster);
}

/** `redis at URL` or `redis cluster at URL,URL`, without passwords. */
export function describeRedis(target: RedisTarget): string {
  return `${typeof target === 'string' ? 'redis' : 'redis cluster'} at ${redisAddress(target)}`;
}

/**
 * Connects to Redis (or a Redis Cluster) in the given layout and waits for its first answer (an
 * unreachable server fails here).
 */
export async function connectRedis(
  target: RedisTarget,
  logger: Logger,
  options: { layout?: 'ystate' | 'y-redis'; checkpointLeaseMs?: number } = {},
): Promise<RedisStore> {
  const { createRedisStore } = await import('@ystate/redis');
  const shown = `${typeof target === 'string' ? 'Redis' : 'the Redis Cluster'} at ${redisAddress(target)}`;
  // Until Redis has answered once, the first connection error fails the start (fast, with the
  // reason); afterwards errors are logged and ioredis reconnects.
  let failStart: ((error: unknown) => void) | undefined;
  const store = createRedisStore({
    redis: typeof target === 'string' ? target : clusterConfigOf(target.cluster),
    ...options,
    onError: (error, context) => {
      if (failStart !== undefined) failStart(error);
      else logger.warn({ err: error, context }, 'redis error');
    },
  });
  // A cluster's own error says only that no node answered; a node's says why (a TLS failure…),
  // unless it is ioredis's generic "Connection is closed." that follows the real one.
  let nodeError: unknown;
  const onNodeError = (error: unknown) => {
    if (nodeError === undefined || isClosedError(nodeError)) nodeError = error;
  };
  store.redis.on('node error', onNodeError);
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      store.redis.ping(),
      new Promise<never>((_, reject) => {
        failStart = reject;
        timer = setTimeout(
          () => reject(new Error(`no answer within ${REDIS_CONNECT_TIMEOUT_MS / 1000} s`)),
          REDIS_CONNECT_TIMEOUT_MS,
        );
      }),
    ]);
  } catch (error) {
    failStart = () => undefined;
    // `quit` would wait in ioredis' offline queue through every retry: drop the connection now.
    store.redis.disconnect();
    void store.close().catch(() => undefined);
    // ioredis's cluster client does not report a seed's TLS failure (only "Connection is
    // closed."): try the first seed's handshake alone to say what went wrong.
    if (typeof target !== 'string' && (nodeError === undefined || isClosedError(nodeError)))
      nodeError = (await probeSeed(target.cluster)) ?? nodeError;
    throw new YStateError({
      code: ErrorCode.LOG_UNAVAILABLE,
      message: `cannot reach ${shown}: ${reasonOf(error, nodeError)}`,
      cause: error,
    });
  } finally {
    clearTimeout(timer);
    store.redis.off('node error', onNodeError);
  }
  failStart = undefined;
  return store;
}

async function openRedis(
  target: RedisTarget,
  logger: Logger,
  role: 'serve' | 'operator',
): Promise<OpenedStore> {
  // An operator's checkpoint is stored whoever holds the lease (the lease only keeps servers
  // from checkpointing the same document at once).
  const store = await connectRedis(target, logger, role === 'operator' ? { checkpointLeaseMs: 0 } : {});
  return {
    log: store.log,
    bus: store.bus,
    deliveries: store.deliveries,
    description: describeRedis(target),
    close: () => store.close(),
  };
}

async function openPostgres(url: string, logger: Logger): Promise<OpenedStore> {
  const { createPostgresStore } = await import('@ystate/postgres');
  const shown = redactUrl(url);
  let store: Awaited<ReturnType<typeof createPostgresStore>>;
  try {
    // Connects and migrates the schema: an unreachable server fails here, at start.
    store = await createPostgresStore({
      connectionString: url,
      onError: (error, context) => logger.warn({ err: error, context }, 'postgres error'),
    });
  } catch (error) {
    throw new YStateError({
      code: ErrorCode.LOG_UNAVAILABLE,
      message: `cannot use PostgreSQL at ${shown}: ${error instanceof Error ? error.message : String(error)}`,
      cause: error,
    });
  }
  if (store.migrations.applied.length > 0) {
    logger.info(
      { applied: store.migrations.applied, version: store.migrations.version },
      'migrated the schema',
    );
  }
  return {
    log: store.log,
    bus: store.bus,
    deliveries: store.deliveries,
    description: `postgres at ${shown}`,
    close: () => store.close(),
  };
}

/**
 * Why a connection failed. A cluster that answers nothing fails as ioredis's "Failed to refresh
 * slots cache"; the cause the operator needs (NOAUTH, ECONNREFUSED, a TLS error) is the first
 * error a node reported, else the last node's error ioredis attached.
 */
function reasonOf(error: unknown, nodeError?: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const last = (error as Error & { lastNodeError?: unknown }).lastNodeError;
  const cause = nodeError instanceof Error ? nodeError : last;
  if (!(cause instanceof Error) || cause === error) return error.message;
  return `${error.message.replace(/\.$/, '')} (${cause.message})`;
}

/**
 * The TLS handshake error of the first seed, if it is a `rediss://` seed and the handshake fails
 * (an untrusted or mismatched certificate): what ioredis's cluster client leaves out.
 */
async function probeSeed(seeds: readonly string[]): Promise<Error | undefined> {
  const [seed] = clusterConfigOf(seeds.slice(0, 1)).nodes as { host: string; port: number }[];
  if (seed === undefined || !seeds[0]?.startsWith('rediss:')) return undefined;
  const { connect } = await import('node:tls');
  return new Promise((resolve) => {
    const socket = connect({
      host: seed.host,
      port: seed.port,
      servername: isIP(seed.host) ? '' : seed.host,
    });
    socket.setTimeout(5_000, () => socket.destroy());
    socket.once('secureConnect', () => {
      socket.destroy();
      resolve(undefined);
    });
    socket.once('error', (error) => resolve(error));
    socket.once('close', () => resolve(undefined));
  });
}

function isClosedError(error: unknown): boolean {
  return error instanceof Error && error.message === 'Connection is closed.';
}

/** The URL without its password and query values (`?sslpassword=`), for logs. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    for (const key of new Set(parsed.searchParams.keys())) parsed.searchParams.set(key, '***');
    return parsed.toString();
  } catch {
    return '(unparsable URL)';
  }
}
