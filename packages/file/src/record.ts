/**
 * The byte layout shared by log and checkpoint files (docs/file-store.md): a 20-byte header, then
 * records of `u32 length | u32 CRC-32 of the frame | frame`, big-endian, where a frame is
 * `encodeEntry`'s binary entry.
 */

import type { FileHandle } from 'node:fs/promises';
import { crc32 } from 'node:zlib';
import { decodeEntry, ENTRY_FORMAT_VERSION, type LogEntry } from '@ystate/core';
import { readAt } from './file-io.js';
import { corruptFile } from './store-errors.js';

/** Bytes of a file header: magic, format version, base seq, CRC-32 of the first 16 bytes. */
export const HEADER_SIZE = 20;
/** Bytes in front of each frame: its length and its CRC-32. */
export const RECORD_OVERHEAD = 8;
/** The on-disk format version this code writes and reads. */
export const STORE_FORMAT_VERSION = 1;
/** Bytes read at a time when scanning or reading a range. */
export const READ_CHUNK = 1 << 20;

/** Records checked between yields to the event loop while scanning a file. */
const SCAN_YIELD_EVERY = 2048;

/** A document's log, or its checkpoints. */
export type FileKind = 'log' | 'checkpoints';

const magics: Record<FileKind, number> = {
  log: 0x59534c47, // "YSLG"
  checkpoints: 0x59534350, // "YSCP"
};

/** The header of a new file. `baseSeq` is the seq before the file's first record (the last pruned one). */
export function encodeHeader(kind: FileKind, baseSeq: number): Buffer {
  const header = Buffer.alloc(HEADER_SIZE);
  header.writeUInt32BE(magics[kind], 0);
  header.writeUInt32BE(STORE_FORMAT_VERSION, 4);
  header.writeBigUInt64BE(BigInt(baseSeq), 8);
  header.writeUInt32BE(crc32(header.subarray(0, 16)), 16);
  return header;
}

/** Reads and checks a file's header; returns its base seq. Throws CORRUPT_ENTRY when it is not one of ours. */
export async function readHeader(handle: FileHandle, kind: FileKind, file: string): Promise<number> {
  const header = Buffer.alloc(HEADER_SIZE);
  if ((await readAt(handle, header, 0)) < HEADER_SIZE) {
    throw corruptFile(file, 'the file is shorter than its header');
  }
  if (header.readUInt32BE(0) !== magics[kind]) throw corruptFile(file, `not a ystate ${kind} file`);
  if (crc32(header.subarray(0, 16)) !== header.readUInt32BE(16)) {
    throw corruptFile(file, 'the header checksum does not match');
  }
  const version = header.readUInt32BE(4);
  if (version !== STORE_FORMAT_VERSION) throw corruptFile(file, `unknown file format version ${version}`);
  const baseSeq = header.readBigUInt64BE(8);
  if (baseSeq > BigInt(Number.MAX_SAFE_INTEGER)) throw corruptFile(file, 'the base seq is out of range');
  return Number(baseSeq);
}

/** Frames as consecutive records in one buffer, with the start of each record in it. */
export function encodeRecords(frames: readonly Uint8Array[]): { bytes: Buffer; starts: number[] } {
  let total = 0;
  for (const frame of frames) total += RECORD_OVERHEAD + frame.length;
  const bytes = Buffer.allocUnsafe(total);
  const starts: number[] = [];
  let at = 0;
  for (const frame of frames) {
    starts.push(at);
    bytes.writeUInt32BE(frame.length, at);
    bytes.writeUInt32BE(crc32(frame), at + 4);
    bytes.set(frame, at + RECORD_OVERHEAD);
    at += RECORD_OVERHEAD + frame.length;
  }
  return { bytes, starts };
}

/**
 * Walks the records of `[start, end)` in order, a chunk at a time, handing each whole record whose
 * CRC matches to `accept`. Stops at the first record that is cut short (length or data), fails its
 * CRC, or that `accept` refuses. Returns where the valid records end.
 */
export async function scanRecords(
  handle: FileHandle,
  start: number,
  end: number,
  accept: (frame: Uint8Array, offset: number) => boolean,
): Promise<number> {
  let buffer = Buffer.alloc(0);
  let bufferStart = start;
  let position = start;
  // Makes `buffer` hold the `count` bytes from `position`; false when the file ends before them.
  const load = async (count: number): Promise<boolean> => {
    if (count > end - position) return false;
    const held = bufferStart + buffer.length - position;
    if (held >= count) return true;
    const next = Buffer.allocUnsafe(Math.max(count, Math.min(READ_CHUNK, end - position)));
    buffer.copy(next, 0, position - bufferStart);
    const read = await readAt(handle, next.subarray(held), position + held);
    buffer = next.subarray(0, held + read);
    bufferStart = position;
    return held + read >= count;
  };
  let scanned = 0;
  while (position < end) {
    // Checking records is CPU work between reads: let other work run so a large log never blocks the loop.
    if (++scanned % SCAN_YIELD_EVERY === 0) await new Promise((resolve) => setImmediate(resolve));
    if (!(await load(RECORD_OVERHEAD))) break;
    const length = buffer.readUInt32BE(position - bufferStart);
    const checksum = buffer.readUInt32BE(position - bufferStart + 4);
    if (!(await load(RECORD_OVERHEAD + length))) break;
    const at = position - bufferStart + RECORD_OVERHEAD;
    const frame = buffer.subarray(at, at + length);
    if (crc32(frame) !== checksum || !accept(frame, position)) break;
    position += RECORD_OVERHEAD + length;
  }
  return position;
}

/** The smallest frame `encodeEntry` writes: seven one-byte fields. */
const MIN_FRAME = 7;

/**
 * Counts the whole records in `(from, end)` after a bad record at `from`, for telling damage
 * before the tail from a torn tail. The bad record's length cannot be trusted, so it searches byte
 * by byte for the next record that has a plausible length, starts like a frame, passes its CRC and
 * is taken by `accept`; from there it follows the records' lengths, and searches again after each
 * bad one. Reads a chunk at a time and yields between chunks.
 */
export async function countRecordsAfter(
  handle: FileHandle,
  from: number,
  end: number,
  accept: (frame: Uint8Array) => boolean,
): Promise<number> {
  let count = 0;
  let position = from + 1;
  while (position + RECORD_OVERHEAD < end) {
    const foundEnd = await findRecord(handle, position, end, accept);
    if (foundEnd === undefined) break;
    count += 1;
    const framedEnd = await scanRecords(handle, foundEnd, end, (frame) => {
      if (!accept(frame)) return false;
      count += 1;
      return true;
    });
    position = framedEnd + 1;
  }
  return count;
}

/** Where the first record at or after `start` that passes the checks of `countRecordsAfter` ends, if there is one. */
async function findRecord(
  handle: FileHandle,
  start: number,
  end: number,
  accept: (frame: Uint8Array) => boolean,
): Promise<number | undefined> {
  // Each chunk overlaps the next by a record header and a frame's first byte.
  const chunk = Buffer.allocUnsafe(READ_CHUNK + RECORD_OVERHEAD + 1);
  for (let base = start; base + RECORD_OVERHEAD < end; base += READ_CHUNK) {
    const read = await readAt(handle, chunk.subarray(0, Math.min(chunk.length, end - base)), base);
    for (let i = 0; i < READ_CHUNK && i + RECORD_OVERHEAD < read; i += 1) {
      if (chunk[i + RECORD_OVERHEAD] !== ENTRY_FORMAT_VERSION) continue;
      const length = chunk.readUInt32BE(i);
      const at = base + i;
      if (length < MIN_FRAME || at + RECORD_OVERHEAD + length > end) continue;
      let frame: Uint8Array;
      if (i + RECORD_OVERHEAD + length <= read) {
        frame = chunk.subarray(i + RECORD_OVERHEAD, i + RECORD_OVERHEAD + length);
      } else {
        frame = Buffer.allocUnsafe(length);
        if ((await readAt(handle, frame, at + RECORD_OVERHEAD)) < length) continue;
      }
      if (crc32(frame) === chunk.readUInt32BE(i + 4) && accept(frame)) return at + RECORD_OVERHEAD + length;
    }
    await new Promise((resolve) => setImmediate(resolve));
  }
  return undefined;
}

/**
 * Reads and decodes the records `from` to `to` (exclusive) of an index, where `offsets[i]` is where
 * record i starts and `end` is where the last indexed record ends. Reads at most about
 * `READ_CHUNK` bytes at a time (more only for a single larger record), and copies each frame so
 * that no returned entry holds on to a whole chunk. Throws CORRUPT_ENTRY on any mismatch.
 */
export async function readRecords(
  handle: FileHandle,
  offsets: readonly number[],
  from: number,
  to: number,
  end: number,
  file: string,
): Promise<LogEntry[]> {
  const entries: LogEntry[] = [];
  const startOf = (i: number): number => (i < offsets.length ? offsets[i]! : end);
  let i = from;
  while (i < to) {
    const spanStart = startOf(i);
    let j = i + 1;
    while (j < to && startOf(j + 1) - spanStart <= READ_CHUNK) j += 1;
    const span = Buffer.allocUnsafe(startOf(j) - spanStart);
    if ((await readAt(handle, span, spanStart)) < span.length) {
      throw corruptFile(file, `the file ends inside the record at byte ${spanStart}`);
    }
    for (let k = i; k < j; k += 1) {
      const at = startOf(k) - spanStart;
      const next = startOf(k + 1) - spanStart;
      if (next - at < RECORD_OVERHEAD || span.readUInt32BE(at) !== next - at - RECORD_OVERHEAD) {
        throw corruptFile(
          file,
          `the record at byte ${startOf(k)} does not have the length the index expects`,
        );
      }
      const frame = span.subarray(at + RECORD_OVERHEAD, next);
      if (crc32(frame) !== span.readUInt32BE(at + 4)) {
        throw corruptFile(file, `the record at byte ${startOf(k)} fails its CRC check`);
      }
      entries.push(decodeFrame(new Uint8Array(frame), file));
    }
    i = j;
  }
  return entries;
}

/** `decodeEntry`, with the file named in the error. */
export function decodeFrame(frame: Uint8Array, file: string): LogEntry {
  try {
    return decodeEntry(frame);
  } catch (cause) {
    throw corruptFile(file, cause instanceof Error ? cause.message : String(cause), cause);
  }
}
