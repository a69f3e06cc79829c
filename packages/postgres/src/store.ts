/** `createPostgresStore`: the log and the bus of one node on one pool, migrated on start and closed together. */

import { ErrorCode, YStateError } from '@ystate/core';
import { type CodecOptions, withCodecs } from '@ystate/core/codecs';
import pg from 'pg';
import { assertMigrated, type MigrationReport, migrate, SCHEMA_VERSION } from './migrations.js';
import { storeTables } from './names.js';
import { PostgresSyncBus } from './postgres-bus.js';
import { PostgresDeliveryStore } from './postgres-delivery.js';
import { PostgresUpdateLog } from './postgres-log.js';

/** Options of `createPostgresStore`. */
export interface PostgresStoreOptions {
  /** `postgresql://user:password@host:port/database?…`; libpq's PG* environment variables fill in what is missing. */
  connectionString?: string;
  /** `pg.Pool` settings (`max`, `idleTimeoutMillis`, `ssl`, `host`, …), used for the LISTEN connection too. */
  pool?: pg.PoolConfig;
  /** Schema of the tables (default `public`); created when missing. */
  schema?: string;
  /** Prefix of the table names (default `ystate_`): several stores can share one schema. */
  tablePrefix?: string;
  /**
   * Run the migrations on start (default true). With false the store only checks that the schema
   * is current, for deployments where the application role may not change the schema.
   */
  migrate?: boolean;
  /** Compression and encryption of payloads, in the log and on the bus alike. */
  codecs?: CodecOptions;
  /**
   * Appends notify in their own transaction (default true; the log then `publishesAppends`).
   * See docs/postgres.md on NOTIFY's commit lock before turning it off.
   */
  notifyInTransaction?: boolean;
  /** Largest NOTIFY payload that carries entries inline (default 7,800; 0 sends only references). */
  maxNotifyBytes?: number;
  /** Most rows fetched per round trip when reading (default 5,000). */
  readPageSize?: number;
  /** `application_name` of the connections, as `pg_stat_activity` shows them (default `ystate`; the LISTEN one gets `-listen`). */
  applicationName?: string;
  /** Failures with no caller: dropped connections, unreadable notifications, listener errors. */
  onError?: (error: unknown, context: string) => void;
  /** Reconnect backoff and liveness pings of the LISTEN connection (defaults 100 ms, 5,000 ms, 30,000 ms). */
  minReconnectDelayMs?: number;
  maxReconnectDelayMs?: number;
  pingIntervalMs?: number;
}

/** Settings of `pg.Pool` itself, not of its connections. */
const POOL_ONLY = [
  'max',
  'min',
  'idleTimeoutMillis',
  'maxUses',
  'maxLifetimeSeconds',
  'allowExitOnIdle',
  'log',
  'Promise',
  'Client',
  'onConnect',
  'verify',
] as const;

/** One node's PostgreSQL store: pass `log` and `bus` to the Engine; `close` when done. */
export interface PostgresStore {
  readonly log: PostgresUpdateLog;
  readonly bus: PostgresSyncBus;
  /** Webhook delivery cursors, leases and status, shared by every node on this store. */
  readonly deliveries: PostgresDeliveryStore;
  /** The pool both use (e.g. for health checks: `pool.query('SELECT 1')`). */
  readonly pool: pg.Pool;
  /** What the start did to the schema (`applied` is empty with `migrate: false`). */
  readonly migrations: MigrationReport;
  /** Closes the bus and the log, then ends the pool. */
  close(): Promise<void>;
}

/** Connects, migrates (or checks) the schema, and makes the log and bus of one node. */
export async function createPostgresStore(options: PostgresStoreOptions = {}): Promise<PostgresStore> {
  const tables = storeTables(options.schema, options.tablePrefix);
  if (options.connectionString !== undefined && typeof options.connectionString !== 'string') {
    throw new YStateError({ code: ErrorCode.INVALID_CONFIG, message: 'connectionString must be a string' });
  }
  const onError = options.onError ?? (() => undefined);
  const applicationName = options.applicationName ?? options.pool?.application_name ?? 'ystate';
  const poolConfig: pg.PoolConfig = { application_name: applicationName, ...options.pool };
  if (options.connectionString !== undefined) poolConfig.connectionString = options.connectionString;
  const pool = new pg.Pool(poolConfig);
  // An idle pooled connection that drops emits 'error' on the pool; unhandled, it would end the process.
  pool.on('error', (error) => onError(error, 'idle pooled connection'));

  let log: PostgresUpdateLog;
  let bus: PostgresSyncBus;
  let migrations: MigrationReport;
  try {
    const logOptions: ConstructorParameters<typeof PostgresUpdateLog>[0] = {
      pool,
      schema: tables.schema,
      tablePrefix: tables.prefix,
    };
    if (options.codecs) logOptions.codecs = options.codecs;
    if (options.notifyInTransaction !== undefined) logOptions.notify = options.notifyInTransaction;
    if (options.maxNotifyBytes !== undefined) logOptions.maxNotifyBytes = options.maxNotifyBytes;
    if (options.readPageSize !== undefined) logOptions.readPageSize = options.readPageSize;
    log = new PostgresUpdateLog(logOptions);
    // Checks the codec options (INVALID_CONFIG) the way every store does; the wrapper is not used.
    if (options.codecs) withCodecs(log, options.codecs);

    // The LISTEN connection has the pool's connection settings, without the pool's own.
    const clientConfig: pg.ClientConfig & pg.PoolConfig = { ...poolConfig };
    for (const key of POOL_ONLY) delete clientConfig[key];
    const busOptions: ConstructorParameters<typeof PostgresSyncBus>[0] = {
      pool,
      schema: tables.schema,
      tablePrefix: tables.prefix,
      onError,
      createListenClient: () =>
        new pg.Client({ ...clientConfig, keepAlive: true, application_name: `${applicationName}-listen` }),
    };
    if (options.codecs) busOptions.codecs = options.codecs;
    if (options.maxNotifyBytes !== undefined) busOptions.maxNotifyBytes = options.maxNotifyBytes;
    if (options.minReconnectDelayMs !== undefined)
      busOptions.minReconnectDelayMs = options.minReconnectDelayMs;
    if (options.maxReconnectDelayMs !== undefined)
      busOptions.maxReconnectDelayMs = options.maxReconnectDelayMs;
    if (options.pingIntervalMs !== undefined) busOptions.pingIntervalMs = options.pingIntervalMs;
    bus = new PostgresSyncBus(busOptions);

    if (options.migrate === false) {
      await assertMigrated(pool, tables);
      migrations = { applied: [], version: SCHEMA_VERSION };
    } else {
      migrations = await migrate(pool, tables);
    }
  } catch (error) {
    await pool.end().catch(() => undefined);
    throw error;
  }

  let closing: Promise<void> | undefined;
  return {
    log,
    bus,
    deliveries: new PostgresDeliveryStore(pool, tables),
    pool,
    migrations,
    close() {
      closing ??= (async () => {
        await bus.close();
        await log.close();
        await pool.end();
      })();
      return closing;
    },
  };
}
