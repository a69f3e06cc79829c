/**
 * `PostgresUpdateLog`: each document's log is rows of one entries table. An append is one
 * statement, hence one transaction and one round trip: it raises the document's head row by the
 * batch size (`INSERT … ON CONFLICT DO UPDATE … RETURNING`, which row-locks the head until
 * commit), inserts the batch numbered from the old head, and `pg_notify`s the document's channel.
 * Concurrent writers on any number of nodes queue on that row lock, so seqs are dense, distinct and
 * contiguous per batch, and commits of one document happen in seq order. See docs/postgres.md.
 */

import {
  type AppendBatch,
  assertRangeBound,
  assertStorableEntry,
  copyEntry,
  type EntryInput,
  ErrorCode,
  isYStateError,
  type LogEntry,
  type SeqRange,
  type UpdateLog,
  YStateError,
} from '@ystate/core';
import { type CodecOptions, decodePayload, encodePayload } from '@ystate/core/codecs';
import type { Pool, PoolClient, QueryConfig, QueryResultRow } from 'pg';
import { isConnectionError, isRolledBack, storeError } from './errors.js';
import { channelName, type StoreTables, statementName, storeTables } from './names.js';
import { appendFrames, DEFAULT_MAX_NOTIFY_BYTES } from './notification.js';
import { ENTRY_COLUMNS, type EntryRow, entryOfRow } from './rows.js';

/** Options of `new PostgresUpdateLog(options)`. */
export interface PostgresUpdateLogOptions {
  /** The connection pool; the log borrows connections per statement and never ends the pool. */
  pool: Pool;
  /** Schema of the tables (default `public`); must already be migrated (see `migrate`). */
  schema?: string;
  /** Prefix of the table names (default `ystate_`). */
  tablePrefix?: string;
  /** Compression and encryption of payloads: encoded before they are stored, decoded when read. */
  codecs?: CodecOptions;
  /**
   * Whether an append notifies the document's channel in its own transaction (default true, and
   * then `publishesAppends` is true). Turn it off to keep NOTIFY's commit lock out of appends;
   * the engine then publishes through the bus after each append.
   */
  notify?: boolean;
  /** Largest NOTIFY payload that carries entries inline; larger appends notify a seq range (default 7,800). */
  maxNotifyBytes?: number;
  /** Most rows fetched per round trip when reading (default 5,000). */
  readPageSize?: number;
}

/** One document's batch, checked and encoded for an append statement. */
interface PreparedBatch {
  docId: string;
  entries: readonly EntryInput[];
  /** The entries as stored (payloads encoded by the codecs). */
  stored: readonly EntryInput[];
  offsets: number[];
  lengths: number[];
  blob: Buffer;
  /** The notification's inline frames, or null when it names a seq range only. */
  inline: string | null;
}

/** The largest bigint, as an open upper bound. */
const MAX_BIGINT = '9223372036854775807';
/** Idempotent statements are tried this many times when the connection fails. */
const READ_ATTEMPTS = 3;
/** Appends are tried again only after a definite rollback (serialization failure, deadlock). */
const APPEND_ATTEMPTS = 10;
const RETRY_DELAY_MS = 100;
/** Entries inserted per statement when restoring. */
const RESTORE_BATCH = 1000;

/** An `UpdateLog` in PostgreSQL tables. */
export class PostgresUpdateLog implements UpdateLog {
  readonly publishesAppends: boolean;
  readonly tables: StoreTables;
  private readonly pool: Pool;
  private readonly codecs: CodecOptions | undefined;
  private readonly maxNotifyBytes: number;
  private readonly readPageSize: number;
  private readonly sql: ReturnType<typeof statements>;
  private closed = false;

  /** A log in the (already migrated) tables of `options.pool`'s database. */
  constructor(options: PostgresUpdateLogOptions) {
    this.tables = storeTables(options.schema, options.tablePrefix);
    this.pool = options.pool;
    this.codecs = options.codecs;
    this.publishesAppends = options.notify ?? true;
    this.maxNotifyBytes = boundedInteger(
      options.maxNotifyBytes,
      'maxNotifyBytes',
      DEFAULT_MAX_NOTIFY_BYTES,
      7999,
    );
    this.readPageSize = boundedInteger(options.readPageSize, 'readPageSize', 5000) || 1;
    this.sql = statements(this.tables);
  }

  async append(docId: string, entries: readonly EntryInput[]): Promise<LogEntry[]> {
    this.assertOpen();
    const batch = this.prepare(docId, entries);
    if (batch === undefined) return [];
    const values: unknown[] = [
      docId,
      entries.length,
      ...entryFields(batch.stored),
      batch.offsets,
      batch.lengths,
      batch.blob,
    ];
    const query: QueryConfig = this.publishesAppends
      ? {
          ...this.sql.appendNotifying,
          values: [...values, channelName(this.tables, 'entries', docId), batch.inline],
        }
      : { ...this.sql.append, values };
    const [row] = await this.appendQuery<{ before: string }>(query, `appending to "${docId}"`);
    return this.stored(entries, Number(row?.before));
  }

  /**
   * Appends several documents' batches in one statement, so they share one commit (one WAL flush)
   * and one round trip; each batch gets its own seqs and notification as `append` would give it.
   * A batch that is malformed is refused on its own. When PostgreSQL refuses the statement (it
   * rolled back whole), each batch is appended on its own, so one document's refusal stays its
   * own; when the server cannot be reached, every batch gets that error, as `append` would.
   */
  async appendMany(batches: readonly AppendBatch[]): Promise<PromiseSettledResult<LogEntry[]>[]> {
    this.assertOpen();
    const outcomes: PromiseSettledResult<LogEntry[]>[] = new Array(batches.length);
    /** Batches that share the statement, and those appended on their own. */
    const together: { index: number; batch: PreparedBatch }[] = [];
    const alone: number[] = [];
    const docs = new Set<string>();
    batches.forEach(({ docId, entries }, index) => {
      let batch: PreparedBatch | undefined;
      try {
        batch = this.prepare(docId, entries);
      } catch (reason) {
        outcomes[index] = { status: 'rejected', reason };
        return;
      }
      if (batch === undefined) outcomes[index] = { status: 'fulfilled', value: [] };
      // One document twice would raise its head row twice in one statement.
      else if (docs.has(docId)) alone.push(index);
      else {
        docs.add(docId);
        together.push({ index, batch });
      }
    });
    if (together.length === 1) alone.push((together.pop() as { index: number }).index);
    if (together.length > 0) {
      let rows: { doc_id: string; before: string }[] | undefined;
      try {
        rows = await this.appendQuery<{ doc_id: string; before: string }>(
          this.manyQuery(together.map(({ batch }) => batch)),
          `appending to ${together.length} documents`,
        );
      } catch (error) {
        // Refused by PostgreSQL: the statement rolled back whole, so each batch may go on its own.
        // Unreachable: it may have committed, so each batch gets the error, as from `append`.
        if (isYStateError(error) && error.code === ErrorCode.STORAGE_FAILED) {
          alone.push(...together.map(({ index }) => index));
        } else {
          for (const { index } of together) outcomes[index] = { status: 'rejected', reason: error };
        }
      }
      // The statement committed: each batch has its seqs.
      const before = new Map(rows?.map((row) => [row.doc_id, Number(row.before)]));
      for (const { index, batch } of rows === undefined ? [] : together) {
        try {
          outcomes[index] = {
            status: 'fulfilled',
            value: this.stored(batch.entries, before.get(batch.docId)),
          };
        } catch (reason) {
          outcomes[index] = { status: 'rejected', reason };
        }
      }
    }
    await Promise.all(
      alone.map(async (index) => {
        const { docId, entries } = batches[index] as AppendBatch;
        try {
          outcomes[index] = { status: 'fulfilled', value: await this.append(docId, entries) };
        } catch (reason) {
          outcomes[index] = { status: 'rejected', reason };
        }
      }),
    );
    return outcomes;
  }

  /** Checks and encodes one document's batch for an append statement; `undefined` when it is empty. */
  private prepare(docId: string, entries: readonly EntryInput[]): PreparedBatch | undefined {
    assertDocId(docId, 'append');
    if (entries.length === 0) return undefined;
    entries.forEach((entry, i) => {
      assertText(assertStorableEntry(entry, `append: entry ${i}`), `append: entry ${i}`);
    });
    const codecs = this.codecs;
    const stored = codecs ? entries.map((entry) => encodePayload(entry, codecs)) : entries;
    const offsets: number[] = [];
    const lengths: number[] = [];
    let offset = 0;
    for (const entry of stored) {
      offsets.push(offset);
      lengths.push(entry.payload.byteLength);
      offset += entry.payload.byteLength;
    }
    // One binary parameter for every payload (pg sends Buffers as binary; a bytea[] would go as hex text).
    const blob = Buffer.concat(stored.map((entry) => entry.payload));
    let inline: string | null = null;
    if (this.publishesAppends) {
      // 'a:' + a seq of up to 16 digits + ':' + the frames must fit in one payload. Base64 is 4/3
      // of the frames, which are the payload plus a few bytes: skip encoding batches that cannot fit.
      const payloadBytes = offset + stored.reduce((sum, entry) => sum + entry.origin.length, 0);
      const frames =
        this.maxNotifyBytes > 0 && (payloadBytes * 4) / 3 < this.maxNotifyBytes ? appendFrames(stored) : '';
      inline = frames !== '' && frames.length + 20 <= this.maxNotifyBytes ? frames : null;
    }
    return { docId, entries, stored, offsets, lengths, blob, inline };
  }

  /** The statement appending `batches` (distinct documents) together; rows of `doc_id` and `before`. */
  private manyQuery(batches: readonly PreparedBatch[]): QueryConfig {
    const entryDocs: string[] = [];
    const entryNumbers: number[] = [];
    const offsets: number[] = [];
    const lengths: number[] = [];
    let base = 0;
    for (const batch of batches) {
      batch.stored.forEach((_, i) => {
        entryDocs.push(batch.docId);
        entryNumbers.push(i + 1);
        offsets.push(base + (batch.offsets[i] as number));
        lengths.push(batch.lengths[i] as number);
      });
      base += batch.blob.byteLength;
    }
    const stored = batches.flatMap((batch) => batch.stored);
    return {
      ...this.sql.appendMany,
      values: [
        batches.map((batch) => batch.docId),
        batches.map((batch) => batch.entries.length),
        batches.map((batch) =>
          this.publishesAppends ? channelName(this.tables, 'entries', batch.docId) : null,
        ),
        batches.map((batch) => batch.inline),
        entryDocs,
        entryNumbers,
        ...entryFields(stored),
        offsets,
        lengths,
        Buffer.concat(batches.map((batch) => batch.blob)),
      ],
    };
  }

  /**
   * Runs an append statement. A serialization failure or deadlock (databases whose default
   * isolation is above READ COMMITTED) rolled it back for sure: it is tried again. Anything else is
   * not retried here, since a failure at commit is ambiguous; the engine retries what it must.
   */
  private async appendQuery<R extends QueryResultRow>(query: QueryConfig, what: string): Promise<R[]> {
    for (let attempt = 1; ; attempt++) {
      try {
        return (await this.pool.query<R>(query)).rows;
      } catch (cause) {
        if (attempt < APPEND_ATTEMPTS && isRolledBack(cause)) continue;
        throw storeError(cause, what);
      }
    }
  }

  /** The caller holds the plaintext: copies of it with the seqs assigned after `before`. */
  private stored(entries: readonly EntryInput[], before: number | undefined): LogEntry[] {
    if (before === undefined || !Number.isSafeInteger(before)) {
      throw new YStateError({
        code: ErrorCode.STORAGE_FAILED,
        message: 'PostgreSQL gave no head for an append',
      });
    }
    return entries.map((entry, i) => ({ ...copyEntry(entry), seq: before + 1 + i }));
  }

  async read(docId: string, range: SeqRange = {}): Promise<LogEntry[]> {
    this.assertOpen();
    assertDocId(docId, 'read');
    assertRangeBound(range.from, 'from');
    assertRangeBound(range.to, 'to');
    let from = Math.max(1, Math.ceil(range.from ?? 1));
    const to = range.to === undefined ? Number.POSITIVE_INFINITY : Math.floor(range.to);
    if (from > to) return [];
    const upper = Number.isFinite(to) ? String(to) : MAX_BIGINT;
    const entries: LogEntry[] = [];
    for (;;) {
      const rows = await this.rows<EntryRow>(`reading "${docId}"`, {
        ...this.sql.read,
        values: [docId, String(from), upper, this.readPageSize],
      });
      for (const row of rows) entries.push(this.toEntry(row));
      const last = entries[entries.length - 1];
      if (rows.length < this.readPageSize || last === undefined) return entries;
      from = last.seq + 1;
    }
  }

  async head(docId: string): Promise<number> {
    this.assertOpen();
    assertDocId(docId, 'head');
    const [row] = await this.rows<{ head: string }>(`reading the head of "${docId}"`, {
      ...this.sql.head,
      values: [docId],
    });
    return row === undefined ? 0 : Number(row.head);
  }

  async latestCheckpoint(docId: string, atOrBefore?: number): Promise<LogEntry | undefined> {
    this.assertOpen();
    assertDocId(docId, 'latestCheckpoint');
    assertRangeBound(atOrBefore, 'to');
    const bound = atOrBefore === undefined ? Number.POSITIVE_INFINITY : Math.floor(atOrBefore);
    if (bound < 0) return undefined;
    const [row] = await this.rows<EntryRow>(`reading a checkpoint of "${docId}"`, {
      ...this.sql.latestCheckpoint,
      values: [docId, Number.isFinite(bound) ? String(bound) : MAX_BIGINT],
    });
    return row && this.toEntry(row);
  }

  async storeCheckpoint(docId: string, checkpoint: LogEntry): Promise<void> {
    this.assertOpen();
    assertDocId(docId, 'storeCheckpoint');
    assertText(assertStorableEntry(checkpoint, 'storeCheckpoint'), 'storeCheckpoint');
    if (!Number.isSafeInteger(checkpoint.seq) || checkpoint.seq < 0) {
      throw new YStateError({
        code: ErrorCode.INVALID_VALUE,
        message: `storeCheckpoint: seq must be a non-negative integer, got ${checkpoint.seq}`,
      });
    }
    const stored = this.codecs ? encodePayload(checkpoint, this.codecs) : checkpoint;
    try {
      await this.pool.query({
        ...this.sql.storeCheckpoint,
        values: [
          docId,
          String(stored.seq),
          String(stored.time),
          stored.kind,
          stored.origin,
          stored.flags,
          stored.keyId ?? null,
          Buffer.from(stored.payload.buffer, stored.payload.byteOffset, stored.payload.byteLength),
        ],
      });
    } catch (cause) {
      throw storeError(cause, `storing a checkpoint of "${docId}"`);
    }
  }

  async prune(docId: string, seq: number): Promise<void> {
    this.assertOpen();
    assertDocId(docId, 'prune');
    if (typeof seq !== 'number' || Number.isNaN(seq)) {
      throw new YStateError({
        code: ErrorCode.INVALID_VALUE,
        message: `prune: seq must be a number, got ${seq}`,
      });
    }
    const below = Math.ceil(seq);
    if (below <= 1) return;
    try {
      await this.pool.query({
        ...this.sql.prune,
        values: [docId, Number.isFinite(below) ? String(below) : MAX_BIGINT],
      });
    } catch (cause) {
      throw storeError(cause, `pruning "${docId}"`);
    }
  }

  /**
   * Writes a document's history with its original seqs (entries may start after 1 when the
   * source was pruned) into a document that has none, in one transaction: the head row (with
   * `base` at the first entry), the entries and the checkpoints, as given (already in stored form,
   * so codecs are not applied again). Restoring a backup uses it. Throws DOCUMENT_EXISTS when the
   * document has a head row, INVALID_VALUE (writing nothing) for seqs that are not dense.
   */
  async restore(
    docId: string,
    entries: readonly LogEntry[],
    checkpoints: readonly LogEntry[],
  ): Promise<void> {
    this.assertOpen();
    assertDocId(docId, 'restore');
    entries.forEach((entry, i) => {
      const where = `restore: entry ${i} of "${docId}"`;
      assertText(assertStorableEntry(entry, where), where);
      const expected = i === 0 ? entry.seq : (entries[i - 1] as LogEntry).seq + 1;
      if (
        !Number.isSafeInteger(entry.seq) ||
        entry.seq < 1 ||
        entry.seq !== expected ||
        entry.kind === 'checkpoint'
      ) {
        throw new YStateError({
          code: ErrorCode.INVALID_VALUE,
          message: `${where}: restored entries must be dense, start at seq 1 or later and not be checkpoints`,
        });
      }
    });
    checkpoints.forEach((checkpoint, i) => {
      const where = `restore: checkpoint ${i} of "${docId}"`;
      assertText(assertStorableEntry(checkpoint, where), where);
      if (checkpoint.kind !== 'checkpoint' || !Number.isSafeInteger(checkpoint.seq) || checkpoint.seq < 1) {
        throw new YStateError({
          code: ErrorCode.INVALID_VALUE,
          message: `${where}: must be of kind "checkpoint" with a positive seq`,
        });
      }
    });
    const head = entries[entries.length - 1]?.seq ?? Math.max(0, ...checkpoints.map((c) => c.seq));
    if (checkpoints.some((checkpoint) => checkpoint.seq > head)) {
      throw new YStateError({
        code: ErrorCode.INVALID_VALUE,
        message: `restore: a checkpoint of "${docId}" lies beyond its last entry (${head})`,
      });
    }
    if (head === 0) return;
    let client: PoolClient;
    try {
      client = await this.pool.connect();
    } catch (cause) {
      throw storeError(cause, `restoring "${docId}"`);
    }
    let failed: unknown;
    try {
      await client.query('BEGIN');
      const claimed = await client.query({
        ...this.sql.restoreHead,
        values: [docId, String(head), String(entries[0]?.seq ?? head + 1)],
      });
      if (claimed.rowCount === 0) {
        throw new YStateError({ code: ErrorCode.DOCUMENT_EXISTS, message: `"${docId}" already has history` });
      }
      for (let i = 0; i < entries.length; i += RESTORE_BATCH) {
        await client.query({
          ...this.sql.restoreEntries,
          values: rowValues(docId, entries.slice(i, i + RESTORE_BATCH)),
        });
      }
      if (checkpoints.length > 0) {
        await client.query({ ...this.sql.restoreCheckpoints, values: rowValues(docId, checkpoints) });
      }
      await client.query('COMMIT');
    } catch (cause) {
      failed = cause;
      await client.query('ROLLBACK').catch(() => undefined);
      throw storeError(cause, `restoring "${docId}"`);
    } finally {
      // A connection that failed mid-transaction is not handed to the next caller.
      client.release(failed instanceof Error && !isYStateError(failed) ? failed : undefined);
    }
  }

  async docIds(): Promise<string[]> {
    this.assertOpen();
    const rows = await this.rows<{ doc_id: string }>('listing documents', this.sql.docIds);
    return rows.map((row) => row.doc_id);
  }

  /** Marks the log closed. The pool belongs to whoever made it (`createPostgresStore` ends its own). */
  async close(): Promise<void> {
    this.closed = true;
  }

  /** Runs an idempotent statement, retrying a few times when the connection fails. */
  private async rows<R extends QueryResultRow>(what: string, query: QueryConfig): Promise<R[]> {
    for (let attempt = 1; ; attempt++) {
      try {
        return (await this.pool.query<R>(query)).rows;
      } catch (cause) {
        if (attempt >= READ_ATTEMPTS || !isConnectionError(cause) || this.closed)
          throw storeError(cause, what);
        await new Promise((resolve) => setTimeout(resolve, RETRY_DELAY_MS * attempt));
      }
    }
  }

  private toEntry(row: EntryRow): LogEntry {
    const entry = entryOfRow(row);
    return this.codecs ? decodePayload(entry, this.codecs) : entry;
  }

  private assertOpen(): void {
    if (this.closed)
      throw new YStateError({ code: ErrorCode.DOCUMENT_CLOSED, message: 'the PostgreSQL log is closed' });
  }
}

/** The statements of one store, as named (prepared once per connection) query configs. */
function statements(t: StoreTables) {
  const columns = ENTRY_COLUMNS;
  // The head row is raised by the batch size and stays locked until commit: the next appender of
  // this document waits for it, on whatever node it runs. `before` is the head before this batch.
  const raiseHead = `
    head AS (
      INSERT INTO ${t.heads} AS h (doc_id, head) VALUES ($1, $2::bigint)
      ON CONFLICT (doc_id) DO UPDATE SET head = h.head + EXCLUDED.head
      RETURNING h.head - $2::bigint AS before
    ),
    inserted AS (
      INSERT INTO ${t.entries} (doc_id, ${columns})
      SELECT $1::text, head.before + e.n, e.time_ms, e.kind, e.origin, e.flags, e.key_id,
             substring($10::bytea FROM e.off + 1 FOR e.len)
      FROM head,
           unnest($3::bigint[], $4::text[], $5::text[], $6::integer[], $7::text[], $8::integer[], $9::integer[])
             WITH ORDINALITY AS e(time_ms, kind, origin, flags, key_id, off, len, n)
    )`;
  const named = (what: string, text: string): QueryConfig => ({ name: statementName(t, what), text });
  // Several documents at once: head rows are raised in doc_id order (so two nodes' statements lock
  // them in the same order), each batch is numbered from its document's old head, and each
  // document's channel is notified as a single append would notify it.
  const appendMany = `
    WITH batch AS (
      SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[]) AS b(doc_id, count, channel, inline)
    ),
    head AS (
      INSERT INTO ${t.heads} AS h (doc_id, head)
      SELECT doc_id, count FROM batch ORDER BY doc_id
      ON CONFLICT (doc_id) DO UPDATE SET head = h.head + EXCLUDED.head
      RETURNING h.doc_id, h.head
    ),
    numbered AS (
      SELECT head.doc_id, head.head - batch.count AS before, batch.count, batch.channel, batch.inline
      FROM head JOIN batch USING (doc_id)
    ),
    inserted AS (
      INSERT INTO ${t.entries} (doc_id, ${columns})
      SELECT e.doc_id, numbered.before + e.n, e.time_ms, e.kind, e.origin, e.flags, e.key_id,
             substring($14::bytea FROM e.off + 1 FOR e.len)
      FROM unnest($5::text[], $6::bigint[], $7::bigint[], $8::text[], $9::text[], $10::integer[], $11::text[],
                  $12::integer[], $13::integer[])
             AS e(doc_id, n, time_ms, kind, origin, flags, key_id, off, len)
      JOIN numbered USING (doc_id)
    )
    SELECT doc_id, before, CASE WHEN channel IS NULL THEN NULL ELSE pg_notify(channel, CASE
        WHEN inline IS NULL THEN 'r:' || (before + 1) || ':' || (before + count)
        ELSE 'a:' || (before + 1) || ':' || inline END) END AS notified
    FROM numbered`;
  return {
    appendMany: named('append_many', appendMany),
    append: named('append', `WITH ${raiseHead} SELECT before FROM head`),
    // Notifications are sent at commit, so receivers never hear of rows they cannot read yet.
    appendNotifying: named(
      'append_notify',
      `WITH ${raiseHead}
       SELECT before, pg_notify($11::text, CASE
         WHEN $12::text IS NULL THEN 'r:' || (before + 1) || ':' || (before + $2::bigint)
         ELSE 'a:' || (before + 1) || ':' || $12::text END)
       FROM head`,
    ),
    read: named(
      'read',
      `SELECT ${columns} FROM ${t.entries}
       WHERE doc_id = $1 AND seq >= $2::bigint AND seq <= $3::bigint ORDER BY seq LIMIT $4`,
    ),
    head: named('head', `SELECT head FROM ${t.heads} WHERE doc_id = $1`),
    latestCheckpoint: named(
      'latest_checkpoint',
      `SELECT ${columns} FROM ${t.checkpoints} WHERE doc_id = $1 AND seq <= $2::bigint ORDER BY seq DESC LIMIT 1`,
    ),
    storeCheckpoint: named(
      'store_checkpoint',
      `INSERT INTO ${t.checkpoints} (doc_id, ${columns}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
       ON CONFLICT (doc_id, seq) DO UPDATE SET time_ms = EXCLUDED.time_ms, kind = EXCLUDED.kind,
         origin = EXCLUDED.origin, flags = EXCLUDED.flags, key_id = EXCLUDED.key_id, payload = EXCLUDED.payload`,
    ),
    // Entries below $2 go; so do checkpoints older than the newest one at or below $2 (loading
    // from $2 still has a base). `base` records where the retained log starts; `head` is untouched.
    prune: named(
      'prune',
      `WITH snapshot AS (SELECT head FROM ${t.heads} WHERE doc_id = $1),
       dropped AS (DELETE FROM ${t.entries} WHERE doc_id = $1 AND seq < $2::bigint),
       newest AS (SELECT max(seq) AS seq FROM ${t.checkpoints} WHERE doc_id = $1 AND seq <= $2::bigint),
       obsolete AS (
         DELETE FROM ${t.checkpoints} c USING newest WHERE c.doc_id = $1 AND c.seq < newest.seq
       )
       UPDATE ${t.heads} h SET base = GREATEST(h.base, LEAST($2::bigint, snapshot.head + 1))
       FROM snapshot WHERE h.doc_id = $1`,
    ),
    docIds: named('doc_ids', `SELECT doc_id FROM ${t.heads} ORDER BY doc_id`),
    // Claims the head row of a document that has none; no row back means it has history already.
    restoreHead: named(
      'restore_head',
      `INSERT INTO ${t.heads} (doc_id, head, base) VALUES ($1, $2::bigint, $3::bigint)
       ON CONFLICT (doc_id) DO NOTHING RETURNING doc_id`,
    ),
    restoreEntries: named(
      'restore_entries',
      `INSERT INTO ${t.entries} (doc_id, ${columns}) ${rowsFromArrays}`,
    ),
    restoreCheckpoints: named(
      'restore_checkpoints',
      `INSERT INTO ${t.checkpoints} (doc_id, ${columns}) ${rowsFromArrays}`,
    ),
  };
}

/** Rows given as arrays (`rowValues`): the payloads as one binary blob cut by offsets and lengths. */
const rowsFromArrays = `
  SELECT $1::text, e.seq, e.time_ms, e.kind, e.origin, e.flags, e.key_id,
         substring($9::bytea FROM e.off + 1 FOR e.len)
  FROM unnest($2::bigint[], $3::bigint[], $4::text[], $5::text[], $6::integer[], $7::text[], $8::integer[], $10::integer[])
    AS e(seq, time_ms, kind, origin, flags, key_id, off, len)`;

/** An entry's columns other than seq and payload, one array each, as statements take them (time as text: a bigint). */
function entryFields(entries: readonly EntryInput[]): unknown[][] {
  return [
    entries.map((entry) => String(entry.time)),
    entries.map((entry) => entry.kind),
    entries.map((entry) => entry.origin),
    entries.map((entry) => entry.flags),
    entries.map((entry) => entry.keyId ?? null),
  ];
}

/** The parameters of `rowsFromArrays` for `entries`, as they are (no codecs). */
function rowValues(docId: string, entries: readonly LogEntry[]): unknown[] {
  const offsets: number[] = [];
  let offset = 0;
  for (const entry of entries) {
    offsets.push(offset);
    offset += entry.payload.byteLength;
  }
  return [
    docId,
    entries.map((entry) => String(entry.seq)),
    ...entryFields(entries),
    offsets,
    Buffer.concat(entries.map((entry) => entry.payload)),
    entries.map((entry) => entry.payload.byteLength),
  ];
}

function assertDocId(docId: string, where: string): void {
  if (typeof docId !== 'string') {
    throw new YStateError({ code: ErrorCode.INVALID_VALUE, message: `${where}: docId must be a string` });
  }
  if (docId.includes('\u0000')) {
    throw new YStateError({
      code: ErrorCode.INVALID_VALUE,
      message: `${where}: a docId stored in PostgreSQL cannot contain NUL characters`,
    });
  }
}

/** PostgreSQL `text` cannot hold NUL: refuse it before anything is written. */
function assertText(entry: EntryInput, where: string): void {
  if (entry.origin.includes('\u0000') || entry.keyId?.includes('\u0000')) {
    throw new YStateError({
      code: ErrorCode.INVALID_VALUE,
      message: `${where}: origin and keyId stored in PostgreSQL cannot contain NUL characters`,
    });
  }
}

function boundedInteger(
  value: number | undefined,
  name: string,
  fallback: number,
  max = Number.MAX_SAFE_INTEGER,
): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 0 || value > max) {
    throw new YStateError({
      code: ErrorCode.INVALID_CONFIG,
      message: `invalid PostgreSQL store options: ${name} must be an integer from 0 to ${max}, got ${value}`,
    });
  }
  return value;
}
