/**
 * Names of a store's tables, channels and prepared statements, derived from its schema and table
 * prefix. Both are checked to be plain identifiers and are quoted anyway wherever they reach SQL.
 */

import { createHash } from 'node:crypto';
import { ErrorCode, YStateError } from '@ystate/core';
import { escapeIdentifier } from 'pg';

/** Default schema of the tables. */
export const DEFAULT_SCHEMA = 'public';
/** Default prefix of the table names (`ystate_entries`, `ystate_heads`, …). */
export const DEFAULT_TABLE_PREFIX = 'ystate_';

/** PostgreSQL truncates identifiers to 63 bytes (NAMEDATALEN - 1); longer names would collide. */
const MAX_IDENTIFIER_BYTES = 63;
/** The longest table suffix (`checkpoints`), so that every table name fits. */
const LONGEST_SUFFIX = 'checkpoints';
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Where one store keeps its data: quoted, schema-qualified table names for SQL. */
export interface StoreTables {
  readonly schema: string;
  readonly prefix: string;
  /** One row per entry: `(doc_id, seq)` is the key. */
  readonly entries: string;
  /** One row per document: the last seq assigned (`head`) and the first one retained (`base`). */
  readonly heads: string;
  /** Full-state checkpoints beside the log, `(doc_id, seq)` is the key. */
  readonly checkpoints: string;
  /** Bus messages too large for a notification, read by reference and expired after a minute. */
  readonly spill: string;
  /** Which migrations have run. */
  readonly migrations: string;
  /** Webhook delivery cursors: `(subscription, doc_id)` is the key. */
  readonly deliveries: string;
  /** One row per webhook subscription: its lease and its status. */
  readonly webhooks: string;
  /** The quoted schema, for `CREATE SCHEMA`. */
  readonly quotedSchema: string;
  /** A short tag unique to (schema, prefix): names prepared statements and channels. */
  readonly tag: string;
}

/** Checks `schema` and `prefix` and derives the table names; throws INVALID_CONFIG when they are not plain identifiers. */
export function storeTables(schema = DEFAULT_SCHEMA, prefix = DEFAULT_TABLE_PREFIX): StoreTables {
  if (typeof schema !== 'string' || !IDENTIFIER.test(schema) || schema.length > MAX_IDENTIFIER_BYTES) {
    throw invalidConfig(
      `schema must be an identifier of at most 63 characters ([A-Za-z_][A-Za-z0-9_]*), got "${schema}"`,
    );
  }
  const longest = MAX_IDENTIFIER_BYTES - Math.max(LONGEST_SUFFIX.length, 'migrations'.length);
  if (typeof prefix !== 'string' || (prefix !== '' && !IDENTIFIER.test(prefix)) || prefix.length > longest) {
    throw invalidConfig(
      `tablePrefix must be '' or an identifier of at most ${longest} characters, got "${prefix}"`,
    );
  }
  const quotedSchema = escapeIdentifier(schema);
  const table = (suffix: string) => `${quotedSchema}.${escapeIdentifier(prefix + suffix)}`;
  return {
    schema,
    prefix,
    entries: table('entries'),
    heads: table('heads'),
    checkpoints: table('checkpoints'),
    spill: table('spill'),
    migrations: table('migrations'),
    deliveries: table('deliveries'),
    webhooks: table('webhooks'),
    quotedSchema,
    tag: hash(`${schema}\u0000${prefix}`).slice(0, 12),
  };
}

/** The kinds of channel a document has: its entries, and its ephemeral signals. */
export type ChannelKind = 'entries' | 'signals';

/**
 * The NOTIFY channel of a document. Document ids are arbitrary strings and channel names are
 * identifiers of at most 63 bytes, so the name is a 128-bit hash of (schema, prefix, docId):
 * lower-case hex, safe to quote, and different stores on one database never hear each other.
 */
export function channelName(tables: StoreTables, kind: ChannelKind, docId: string): string {
  const digest = hash(`${tables.schema}\u0000${tables.prefix}\u0000${kind}\u0000${docId}`).slice(0, 32);
  return `ys_${kind === 'entries' ? 'e' : 's'}_${digest}`;
}

/** The name of a prepared statement of this store (prepared once per pooled connection). */
export function statementName(tables: StoreTables, what: string): string {
  return `ystate_${tables.tag}_${what}`;
}

/** Quotes an identifier (a channel name) for LISTEN/UNLISTEN, which take no parameters. */
export function quoteIdentifier(name: string): string {
  return escapeIdentifier(name);
}

function hash(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

function invalidConfig(message: string): YStateError {
  return new YStateError({
    code: ErrorCode.INVALID_CONFIG,
    message: `invalid PostgreSQL store options: ${message}`,
  });
}
