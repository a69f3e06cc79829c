/**
 * @ystate/postgres/testing — a throwaway PostgreSQL for tests: a cluster of their own (`initdb`
 * into a temporary directory, a free port, `fsync=off`), or a throwaway database on a running
 * server when no server binaries can be run. Node-only; used by this package's tests and by
 * anyone testing against ystate on PostgreSQL.
 */

export type { PostgresServerOptions, ShutdownMode, TestPostgres } from './postgres-server.js';
export { PostgresServer, startTestPostgres, ThrowawayDatabase } from './postgres-server.js';
