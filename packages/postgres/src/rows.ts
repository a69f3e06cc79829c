/** Entry rows as the entries and checkpoints tables hold them, and their conversion to `LogEntry`. */

import type { EntryKind, LogEntry } from '@ystate/core';
import type { QueryResultRow } from 'pg';

/** The columns of an entry, in the order statements select them. */
export const ENTRY_COLUMNS = 'seq, time_ms, kind, origin, flags, key_id, payload';

/** A row of the entries or checkpoints table (bigints arrive as strings). */
export interface EntryRow extends QueryResultRow {
  seq: string;
  time_ms: string;
  kind: EntryKind;
  origin: string;
  flags: number;
  key_id: string | null;
  payload: Buffer;
}

/** The entry a row holds, payload as stored (still encoded when codecs are on). */
export function entryOfRow(row: EntryRow): LogEntry {
  const entry: LogEntry = {
    seq: Number(row.seq),
    kind: row.kind,
    time: Number(row.time_ms),
    origin: row.origin,
    flags: row.flags,
    // A fresh Uint8Array: small Buffers are views into Node's shared pool.
    payload: new Uint8Array(row.payload),
  };
  if (row.key_id !== null) entry.keyId = row.key_id;
  return entry;
}
