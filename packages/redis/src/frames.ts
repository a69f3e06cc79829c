/**
 * Bytes in and out of Redis: entries are stored as the standard entry frame (docs/log-format.md).
 * The writer sends each frame with seq 0 (one byte, at offset 2, since version and kind are one
 * byte each) and the append script splices in the seq it assigns, so stored frames are complete.
 * A bus message carries whole frames: `0x01`, varUint count, then each frame as varUint8Array.
 * A signal (an ephemeral message such as awareness, on the document's signal channel) is `0x01`,
 * the sending bus's id as varString, then the message bytes to the end.
 */

import {
  decodeEntry,
  ENTRY_FORMAT_VERSION,
  EntryFlags,
  type EntryInput,
  type EntryKind,
  ErrorCode,
  encodeEntry,
  type LogEntry,
  YStateError,
} from '@ystate/core';
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';

/** Version byte of a bus message. */
export const MESSAGE_VERSION = 1;

const entryKinds: ReadonlySet<EntryKind> = new Set<EntryKind>(['update', 'lifecycle', 'checkpoint']);

/** Throws INVALID_VALUE unless `entry` has fields the frame format stores and gives back unchanged. */
export function checkEntry(entry: EntryInput, where: string): void {
  const fault = entryFault(entry);
  if (fault !== undefined) throw invalid(`${where}: ${fault}`);
}

/** What keeps `entry` from being stored, if anything. */
function entryFault(entry: EntryInput): string | undefined {
  if (!entryKinds.has(entry.kind)) return `unknown kind "${String(entry.kind)}"`;
  if (!Number.isSafeInteger(entry.time) || entry.time < 0) {
    return `time must be a non-negative integer (ms since the epoch), got ${entry.time}`;
  }
  if (typeof entry.origin !== 'string') return 'origin must be a string';
  if (!Number.isSafeInteger(entry.flags) || entry.flags < 0) {
    return `flags must be a non-negative integer, got ${entry.flags}`;
  }
  const encrypted = (entry.flags & EntryFlags.encrypted) !== 0;
  if (encrypted && typeof entry.keyId !== 'string') return 'an encrypted entry needs a keyId';
  if (!encrypted && entry.keyId !== undefined) return 'keyId is only allowed with the encrypted flag';
  if (!(entry.payload instanceof Uint8Array)) return 'payload must be a Uint8Array';
  return undefined;
}

const kindCodes: Readonly<Record<EntryKind, number>> = { update: 0, lifecycle: 1, checkpoint: 2 };

/**
 * Encoded strings (origins, key ids) as lib0 varString bytes: length, then UTF-8. Most appends of a
 * node carry one of a few origins, so short ones are encoded once; the cache empties when full.
 */
const encodedStrings = new Map<string, Buffer>();
const MAX_ENCODED_STRINGS = 1024;
const MAX_CACHED_STRING = 256;

function encodedString(value: string): Buffer {
  let bytes = encodedStrings.get(value);
  if (bytes === undefined) {
    const length = Buffer.byteLength(value, 'utf8');
    bytes = Buffer.allocUnsafeSlow(varUintSize(length) + length);
    bytes.write(value, writeVarUint(bytes, 0, length), 'utf8');
    if (value.length <= MAX_CACHED_STRING) {
      if (encodedStrings.size >= MAX_ENCODED_STRINGS) encodedStrings.clear();
      encodedStrings.set(value, bytes);
    }
  }
  return bytes;
}

/** Bytes of `n` as a varUint (unsigned LEB128, as lib0 writes it). */
function varUintSize(n: number): number {
  let size = 1;
  while (n > 127) {
    n = Math.floor(n / 128);
    size++;
  }
  return size;
}

/** Writes `n` as a varUint at `pos` (exact below 2^53, as lib0's `writeVarUint`); returns the end. */
function writeVarUint(target: Uint8Array, pos: number, n: number): number {
  while (n > 127) {
    target[pos++] = 128 | (n % 128);
    n = Math.floor(n / 128);
  }
  target[pos++] = n;
  return pos;
}

/** Writes `bytes` at `pos` (TypedArray `set`: no argument checks of `Buffer#copy`); returns the end. */
function writeBytes(target: Uint8Array, pos: number, bytes: Uint8Array): number {
  target.set(bytes, pos);
  return pos + bytes.byteLength;
}

/** One append call, encoded: its frames (seq 0) and the entries it resolves with (seq 0 until numbered). */
export interface EncodedAppend {
  readonly frames: Buffer[];
  /** Bytes of all frames. */
  readonly bytes: number;
  readonly stored: LogEntry[];
}

/**
 * Validates and encodes the entries of one append. The frames have seq 0 for the append script
 * to number: [version][kind][seq=0] as single bytes, then the rest exactly as `encodeEntry` writes
 * it (a test checks they agree). They are views into one buffer of this call's own, so the
 * caller's payloads are copied once, and the stored entries take their payloads as views of the
 * frames' last bytes: they share no memory with the caller's input, and no second copy is made.
 * A bad entry throws INVALID_VALUE and nothing is encoded.
 */
export function encodeAppend(entries: readonly EntryInput[], docId: string): EncodedAppend {
  let total = 0;
  for (let i = 0; i < entries.length; i++) {
    const entry = entries[i] as EntryInput;
    const fault = entryFault(entry);
    if (fault !== undefined) throw invalid(`entry ${i} for "${docId}": ${fault}`);
    total += frameSize(entry);
  }
  const buffer = Buffer.allocUnsafe(total);
  const frames: Buffer[] = new Array(entries.length);
  const stored: LogEntry[] = new Array(entries.length);
  let pos = 0;
  for (let i = 0; i < entries.length; i++) {
    const { kind, time, origin, flags, keyId, payload } = entries[i] as EntryInput;
    const start = pos;
    buffer[pos++] = ENTRY_FORMAT_VERSION;
    buffer[pos++] = kindCodes[kind];
    buffer[pos++] = 0;
    pos = writeVarUint(buffer, pos, time);
    pos = writeBytes(buffer, pos, encodedString(origin));
    pos = writeVarUint(buffer, pos, flags);
    if (flags & EntryFlags.encrypted) pos = writeBytes(buffer, pos, encodedString(keyId ?? ''));
    pos = writeVarUint(buffer, pos, payload.byteLength);
    buffer.set(payload, pos);
    const copy = new Uint8Array(buffer.buffer, buffer.byteOffset + pos, payload.byteLength);
    pos += payload.byteLength;
    frames[i] = buffer.subarray(start, pos);
    const entry: LogEntry = { kind, time, origin, flags, payload: copy, seq: 0 };
    if (keyId !== undefined) entry.keyId = keyId;
    stored[i] = entry;
  }
  return { frames, bytes: total, stored };
}

function frameSize(entry: EntryInput): number {
  const payload = entry.payload.byteLength;
  let size = 3 + varUintSize(entry.time) + encodedString(entry.origin).byteLength;
  size += varUintSize(entry.flags) + varUintSize(payload) + payload;
  if (entry.flags & EntryFlags.encrypted) size += encodedString(entry.keyId ?? '').byteLength;
  return size;
}

/** The frame of a numbered entry (checkpoints, bus messages). */
export function numberedFrame(entry: LogEntry): Buffer {
  const frame = encodeEntry(entry);
  return Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength);
}

/**
 * Decodes a stored frame into an entry that owns its payload (reply buffers are views into
 * socket chunks). With `seq`, checks that the frame holds that seq: CORRUPT_ENTRY otherwise.
 */
export function decodeFrame(frame: Uint8Array, docId: string, seq?: number): LogEntry {
  const entry = decodeEntry(frame);
  if (seq !== undefined && entry.seq !== seq) {
    throw new YStateError({
      code: ErrorCode.CORRUPT_ENTRY,
      message: `the log of "${docId}" holds seq ${entry.seq} where seq ${seq} belongs`,
    });
  }
  entry.payload = new Uint8Array(entry.payload);
  return entry;
}

/** Encodes a bus message from numbered frames. */
export function encodeMessage(frames: readonly Uint8Array[]): Buffer {
  const encoder = encoding.createEncoder();
  encoding.writeUint8(encoder, MESSAGE_VERSION);
  encoding.writeVarUint(encoder, frames.length);
  for (const frame of frames) encoding.writeVarUint8Array(encoder, frame);
  const bytes = encoding.toUint8Array(encoder);
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Decodes a bus message into entries; throws CORRUPT_ENTRY for anything else. */
export function decodeMessage(message: Uint8Array, docId: string): LogEntry[] {
  const entries: LogEntry[] = [];
  try {
    const decoder = decoding.createDecoder(message);
    const version = decoding.readUint8(decoder);
    if (version !== MESSAGE_VERSION) throw new Error(`unknown message version ${version}`);
    const count = decoding.readVarUint(decoder);
    for (let i = 0; i < count; i++) entries.push(decodeFrame(decoding.readVarUint8Array(decoder), docId));
    if (decoding.hasContent(decoder)) throw new Error('trailing bytes after the last frame');
  } catch (cause) {
    if (cause instanceof YStateError) throw cause;
    throw new YStateError({
      code: ErrorCode.CORRUPT_ENTRY,
      message: `not a valid bus message for "${docId}": ${(cause as Error).message}`,
      cause,
    });
  }
  return entries;
}

/** Version byte of a signal. */
export const SIGNAL_VERSION = 1;

/** Encodes a signal: `0x01`, the sender's id (varString), then the message bytes. */
export function encodeSignal(sender: string, message: Uint8Array): Buffer {
  const encoder = encoding.createEncoder();
  encoding.writeUint8(encoder, SIGNAL_VERSION);
  encoding.writeVarString(encoder, sender);
  encoding.writeUint8Array(encoder, message);
  const bytes = encoding.toUint8Array(encoder);
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * Decodes a signal into its sender and message (a view into `bytes`: copy it before handing it
 * out); throws INVALID_MESSAGE for anything else.
 */
export function decodeSignal(bytes: Uint8Array, docId: string): { sender: string; message: Uint8Array } {
  try {
    const decoder = decoding.createDecoder(bytes);
    const version = decoding.readUint8(decoder);
    if (version !== SIGNAL_VERSION) throw new Error(`unknown signal version ${version}`);
    const sender = decoding.readVarString(decoder);
    return { sender, message: bytes.subarray(decoder.pos) };
  } catch (cause) {
    throw new YStateError({
      code: ErrorCode.INVALID_MESSAGE,
      message: `not a valid signal for "${docId}": ${(cause as Error).message}`,
      cause,
    });
  }
}

export function invalid(message: string): YStateError {
  return new YStateError({ code: ErrorCode.INVALID_VALUE, message });
}

/** Wraps a Redis failure as LOG_UNAVAILABLE (YStateErrors pass through). */
export function unavailable(cause: unknown, what: string): YStateError {
  if (cause instanceof YStateError) return cause;
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new YStateError({ code: ErrorCode.LOG_UNAVAILABLE, message: `${what} failed: ${reason}`, cause });
}
