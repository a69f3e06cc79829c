/**
 * Log entries: the unit of every document's append-only log, as a small versioned binary frame
 * (lib0 encoding). The byte layout is documented in docs/log-format.md.
 */

import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import { ErrorCode, YStateError } from './errors.js';

/** Frame format version written by this code. */
export const ENTRY_FORMAT_VERSION = 1;

/** What an entry carries: a Yjs update, a lifecycle event (JSON), or a full-state checkpoint. */
export type EntryKind = 'update' | 'lifecycle' | 'checkpoint';

const kindCodes: Record<EntryKind, number> = { update: 0, lifecycle: 1, checkpoint: 2 };
const kindsByCode: readonly EntryKind[] = ['update', 'lifecycle', 'checkpoint'];

/** Flag bits of `LogEntry.flags`. */
export const EntryFlags = {
  /** The payload is deflate-compressed. */
  compressed: 1,
  /** The payload is AES-256-GCM encrypted with the key named by `keyId`. */
  encrypted: 2,
} as const;

/** An entry as a caller hands it to a log: the log assigns `seq`. */
export interface EntryInput {
  kind: EntryKind;
  /** Milliseconds since the Unix epoch. */
  time: number;
  /** Who made it: a node, client or agent id. */
  origin: string;
  /** Bits of `EntryFlags`; 0 for a plain payload. */
  flags: number;
  /** The encryption key id, when `flags` has `encrypted`. */
  keyId?: string;
  payload: Uint8Array;
}

/** An entry in a log. `seq` is dense per document, starting at 1; a checkpoint's seq is the last entry it covers. */
export interface LogEntry extends EntryInput {
  seq: number;
}

/** Encodes an entry as one binary frame. */
export function encodeEntry(entry: LogEntry): Uint8Array {
  const encoder = encoding.createEncoder();
  encoding.writeVarUint(encoder, ENTRY_FORMAT_VERSION);
  encoding.writeVarUint(encoder, kindCodes[entry.kind]);
  encoding.writeVarUint(encoder, entry.seq);
  encoding.writeVarUint(encoder, entry.time);
  encoding.writeVarString(encoder, entry.origin);
  encoding.writeVarUint(encoder, entry.flags);
  if (entry.flags & EntryFlags.encrypted) encoding.writeVarString(encoder, entry.keyId ?? '');
  encoding.writeVarUint8Array(encoder, entry.payload);
  return encoding.toUint8Array(encoder);
}

/** Decodes one frame; throws CORRUPT_ENTRY when the bytes are not a whole, known frame. */
export function decodeEntry(frame: Uint8Array): LogEntry {
  try {
    const decoder = decoding.createDecoder(frame);
    const version = decoding.readVarUint(decoder);
    if (version !== ENTRY_FORMAT_VERSION) throw new Error(`unknown entry format version ${version}`);
    const kind = kindsByCode[decoding.readVarUint(decoder)];
    if (kind === undefined) throw new Error('unknown entry kind');
    const seq = decoding.readVarUint(decoder);
    const time = decoding.readVarUint(decoder);
    const origin = decoding.readVarString(decoder);
    const flags = decoding.readVarUint(decoder);
    const keyId = flags & EntryFlags.encrypted ? decoding.readVarString(decoder) : undefined;
    const payload = decoding.readVarUint8Array(decoder);
    if (decoding.hasContent(decoder)) throw new Error('trailing bytes after the payload');
    const entry: LogEntry = { kind, seq, time, origin, flags, payload };
    if (keyId !== undefined) entry.keyId = keyId;
    return entry;
  } catch (cause) {
    if (cause instanceof YStateError) throw cause;
    throw new YStateError({
      code: ErrorCode.CORRUPT_ENTRY,
      message: `not a valid log entry: ${String((cause as Error).message ?? cause)}`,
      cause,
    });
  }
}

const entryKinds: ReadonlySet<string> = new Set<EntryKind>(['update', 'lifecycle', 'checkpoint']);

/**
 * Checks that an entry has fields every log can store and give back unchanged; throws
 * INVALID_VALUE naming `where` and the fault. Returns the entry.
 */
export function assertStorableEntry<T extends EntryInput>(entry: T, where: string): T {
  if (!entryKinds.has(entry.kind)) throw invalidEntry(`${where}: unknown kind "${String(entry.kind)}"`);
  if (!Number.isSafeInteger(entry.time) || entry.time < 0) {
    throw invalidEntry(
      `${where}: time must be a non-negative integer (ms since the epoch), got ${entry.time}`,
    );
  }
  if (typeof entry.origin !== 'string') throw invalidEntry(`${where}: origin must be a string`);
  if (!Number.isSafeInteger(entry.flags) || entry.flags < 0) {
    throw invalidEntry(`${where}: flags must be a non-negative integer, got ${entry.flags}`);
  }
  // The frame holds a key id exactly when the payload is encrypted; anything else would not round-trip.
  const encrypted = (entry.flags & EntryFlags.encrypted) !== 0;
  if (encrypted && typeof entry.keyId !== 'string')
    throw invalidEntry(`${where}: an encrypted entry needs a keyId`);
  if (!encrypted && entry.keyId !== undefined) {
    throw invalidEntry(`${where}: keyId is only allowed with the encrypted flag`);
  }
  if (!(entry.payload instanceof Uint8Array)) throw invalidEntry(`${where}: payload must be a Uint8Array`);
  return entry;
}

/** Checks one end of a read range (`name` is `from` or `to`). */
export function assertRangeBound(bound: number | undefined, name: string): void {
  if (bound !== undefined && (typeof bound !== 'number' || Number.isNaN(bound))) {
    throw invalidEntry(`read: range.${name} must be a number`);
  }
}

/** A copy whose bytes the caller can no longer change (a batch may wait for a group commit). */
export function copyEntry<T extends EntryInput>(entry: T): T {
  // `new Uint8Array(x)` copies the bytes even when `x` is a Node Buffer, whose `slice` would not.
  const copy = { ...entry, payload: new Uint8Array(entry.payload) };
  if (copy.keyId === undefined) delete copy.keyId;
  return copy;
}

function invalidEntry(message: string): YStateError {
  return new YStateError({ code: ErrorCode.INVALID_VALUE, message });
}
