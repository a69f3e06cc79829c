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
  if (!entryKinds.has(entry.kind)) throw invalid(`${where}: unknown kind "${String(entry.kind)}"`);
  if (!Number.isSafeInteger(entry.time) || entry.time < 0) {
    throw invalid(`${where}: time must be a non-negative integer (ms since the epoch), got ${entry.time}`);
  }
  if (typeof entry.origin !== 'string') throw invalid(`${where}: origin must be a string`);
  if (!Number.isSafeInteger(entry.flags) || entry.flags < 0) {
    throw invalid(`${where}: flags must be a non-negative integer, got ${entry.flags}`);
  }
  const encrypted = (entry.flags & EntryFlags.encrypted) !== 0;
  if (encrypted && typeof entry.keyId !== 'string')
    throw invalid(`${where}: an encrypted entry needs a keyId`);
  if (!encrypted && entry.keyId !== undefined) {
    throw invalid(`${where}: keyId is only allowed with the encrypted flag`);
  }
  if (!(entry.payload instanceof Uint8Array)) throw invalid(`${where}: payload must be a Uint8Array`);
}

/** The frame of `entry` with seq 0, for the append script to number. */
export function unnumberedFrame(entry: EntryInput): Buffer {
  const frame = encodeEntry({ ...entry, seq: 0 });
  // The script relies on this shape: [version][kind][seq=0] as single bytes.
  if (frame[0] !== ENTRY_FORMAT_VERSION || frame[2] !== 0) {
    throw new Error(`unreachable: unexpected frame header ${Array.from(frame.subarray(0, 3))}`);
  }
  return Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength);
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
