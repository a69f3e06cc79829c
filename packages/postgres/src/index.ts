/**
 * @ystate/postgres — the PostgreSQL store of ystate: each document's log is rows of one entries
 * table, numbered densely per document inside the appending transaction (safe with writers on any
 * number of nodes); the same transaction NOTIFYs the document's channel, carrying the entries when
 * they fit and a seq range to read otherwise; one LISTEN connection per node, reconnecting with
 * backoff; checkpoints beside the log; versioned migrations on start. See docs/postgres.md.
 */

export { isConnectionError, storeError } from './errors.js';
export type { Migration, MigrationReport } from './migrations.js';
export { assertMigrated, MIGRATIONS, migrate, SCHEMA_VERSION } from './migrations.js';
export type { ChannelKind, StoreTables } from './names.js';
export { channelName, DEFAULT_SCHEMA, DEFAULT_TABLE_PREFIX, storeTables } from './names.js';
export { DEFAULT_MAX_NOTIFY_BYTES } from './notification.js';
export type { PostgresSyncBusOptions } from './postgres-bus.js';
export { PostgresSyncBus } from './postgres-bus.js';
export { PostgresDeliveryStore } from './postgres-delivery.js';
export type { PostgresUpdateLogOptions } from './postgres-log.js';
export { PostgresUpdateLog } from './postgres-log.js';
export type { PostgresStore, PostgresStoreOptions } from './store.js';
export { createPostgresStore } from './store.js';
