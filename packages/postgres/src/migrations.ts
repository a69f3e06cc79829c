/**
 * Versioned schema migrations. Every start runs `migrate`: inside one transaction that holds an
 * advisory lock keyed by the schema, it applies the migrations the `migrations` table does
 * not list yet. Concurrent first starts of several nodes therefore apply each migration once;
 * the others wait for the lock, then find nothing to do.
 */

import { ErrorCode, YStateError } from '@ystate/core';
import type { Pool, PoolClient } from 'pg';
import { storeError } from './errors.js';
import type { StoreTables } from './names.js';

/** One schema change; `version`s increase by one, and a released migration never changes. */
export interface Migration {
  readonly version: number;
  readonly name: string;
  /** The statements, for the given tables. */
  readonly sql: (tables: StoreTables) => string;
}

/** Every migration, in order. Append new ones; never edit a released one. */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'entries, heads, checkpoints, spill',
    sql: (t) => `
      CREATE TABLE ${t.heads} (
        doc_id     text PRIMARY KEY,
        head       bigint NOT NULL CHECK (head >= 0),
        base       bigint NOT NULL DEFAULT 1 CHECK (base >= 1),
        created_at timestamptz NOT NULL DEFAULT now()
      ) WITH (fillfactor = 70);
      CREATE TABLE ${t.entries} (
        doc_id  text     NOT NULL,
        seq     bigint   NOT NULL CHECK (seq >= 1),
        time_ms bigint   NOT NULL CHECK (time_ms >= 0),
        kind    text     NOT NULL CHECK (kind IN ('update', 'lifecycle', 'checkpoint')),
        origin  text     NOT NULL,
        flags   integer  NOT NULL CHECK (flags >= 0),
        key_id  text,
        payload bytea    NOT NULL,
        PRIMARY KEY (doc_id, seq)
      );
      CREATE TABLE ${t.checkpoints} (
        doc_id  text     NOT NULL,
        seq     bigint   NOT NULL CHECK (seq >= 0),
        time_ms bigint   NOT NULL CHECK (time_ms >= 0),
        kind    text     NOT NULL CHECK (kind IN ('update', 'lifecycle', 'checkpoint')),
        origin  text     NOT NULL,
        flags   integer  NOT NULL CHECK (flags >= 0),
        key_id  text,
        payload bytea    NOT NULL,
        PRIMARY KEY (doc_id, seq)
      );
      CREATE TABLE ${t.spill} (
        id         bigserial PRIMARY KEY,
        created_at timestamptz NOT NULL DEFAULT now(),
        body       text NOT NULL
      );
      CREATE INDEX ON ${t.spill} (created_at);
    `,
  },
  {
    version: 2,
    name: 'webhook deliveries and subscriptions',
    sql: (t) => `
      CREATE TABLE ${t.deliveries} (
        subscription text   NOT NULL,
        doc_id       text   NOT NULL,
        seq          bigint NOT NULL CHECK (seq >= 0),
        PRIMARY KEY (subscription, doc_id)
      );
      CREATE TABLE ${t.webhooks} (
        subscription text PRIMARY KEY,
        holder       text,
        expires_ms   bigint NOT NULL DEFAULT 0,
        status       jsonb
      );
    `,
  },
];

/** The schema version this code writes and reads. */
export const SCHEMA_VERSION = MIGRATIONS.length;

/** What `migrate` did. */
export interface MigrationReport {
  /** The versions this call applied (empty when the schema was already current). */
  readonly applied: number[];
  /** The schema version now. */
  readonly version: number;
}

/**
 * Brings the store's tables to `SCHEMA_VERSION`, creating the schema when missing. Safe to run
 * from many nodes at once. Throws INVALID_CONFIG when the database holds a newer version than this
 * code knows (a newer ystate migrated it: upgrade this node), STORAGE_FAILED or LOG_UNAVAILABLE when
 * PostgreSQL refuses or cannot be reached.
 */
export async function migrate(pool: Pool, tables: StoreTables): Promise<MigrationReport> {
  let client: PoolClient;
  try {
    client = await pool.connect();
  } catch (cause) {
    throw storeError(cause, 'connecting to run migrations');
  }
  let failed: unknown;
  try {
    // READ COMMITTED whatever the database's default: each statement after the lock must see what
    // the starts that held it before committed.
    await client.query('BEGIN ISOLATION LEVEL READ COMMITTED');
    // One lock per schema (stores with other prefixes there may be creating it too), held to commit.
    await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [
      `ystate migrations ${tables.schema}`,
    ]);
    const schema = await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [tables.schema]);
    // CREATE SCHEMA IF NOT EXISTS checks the CREATE privilege first: skip it when the schema exists.
    if (schema.rowCount === 0) await client.query(`CREATE SCHEMA ${tables.quotedSchema}`);
    await client.query(`
      CREATE TABLE IF NOT EXISTS ${tables.migrations} (
        version    integer PRIMARY KEY,
        name       text NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now()
      )`);
    const { rows } = await client.query<{ version: number }>(`SELECT version FROM ${tables.migrations}`);
    const done = new Set(rows.map((row) => row.version));
    const newest = Math.max(0, ...done);
    if (newest > SCHEMA_VERSION) {
      throw new YStateError({
        code: ErrorCode.INVALID_CONFIG,
        message: `the PostgreSQL store ${tables.schema}.${tables.prefix}* is at schema version ${newest}, newer than this ystate knows (${SCHEMA_VERSION}): upgrade this node`,
      });
    }
    const applied: number[] = [];
    for (const migration of MIGRATIONS) {
      if (done.has(migration.version)) continue;
      await client.query(migration.sql(tables));
      await client.query(`INSERT INTO ${tables.migrations} (version, name) VALUES ($1, $2)`, [
        migration.version,
        migration.name,
      ]);
      applied.push(migration.version);
    }
    await client.query('COMMIT');
    return { applied, version: SCHEMA_VERSION };
  } catch (cause) {
    failed = cause;
    await client.query('ROLLBACK').catch(() => undefined);
    throw storeError(cause, `migrating ${tables.schema}.${tables.prefix}*`);
  } finally {
    // A connection that failed mid-transaction is not handed to the next caller.
    client.release(failed instanceof Error ? failed : undefined);
  }
}

/**
 * Checks, without changing anything, that the store's tables are at `SCHEMA_VERSION` (for nodes
 * started with `migrate: false`). Throws INVALID_CONFIG naming the version found otherwise.
 */
export async function assertMigrated(pool: Pool, tables: StoreTables): Promise<void> {
  let version = 0;
  try {
    const exists = await pool.query<{ found: string | null }>('SELECT to_regclass($1) AS found', [
      tables.migrations,
    ]);
    if (exists.rows[0]?.found != null) {
      const { rows } = await pool.query<{ version: number | null }>(
        `SELECT max(version) AS version FROM ${tables.migrations}`,
      );
      version = rows[0]?.version ?? 0;
    }
  } catch (cause) {
    throw storeError(cause, `checking the schema version of ${tables.schema}.${tables.prefix}*`);
  }
  if (version !== SCHEMA_VERSION) {
    throw new YStateError({
      code: ErrorCode.INVALID_CONFIG,
      message: `the PostgreSQL store ${tables.schema}.${tables.prefix}* is at schema version ${version}, this ystate needs ${SCHEMA_VERSION}: run the migrations (start once with migrate: true)`,
    });
  }
}
