/**
 * The backup archive: a portable, versioned, checksummed stream of documents' logs and
 * checkpoints, written from any store and restored into any store with identical history.
 * Node-only (`@ystate/core/archive`): it uses node:zlib's crc32 and node:crypto's SHA-256.
 * Byte layout in docs/backup.md.
 */

import { createHash } from 'node:crypto';
import { crc32 } from 'node:zlib';
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import { ErrorCode, YStateError } from './errors.js';
import { decodeEntry, encodeEntry, type LogEntry } from './log-entry.js';
import { compilePattern } from './path-pattern.js';
import type { UpdateLog } from './update-log.js';

/** The first bytes of every archive. */
export const ARCHIVE_MAGIC = new TextEncoder().encode('YSTATE-ARCHIVE\n');
/** The archive format version this code writes (docs/backup.md). */
export const ARCHIVE_VERSION = 1;

const RecordType = { header: 1, document: 2, entry: 3, checkpoint: 4, end: 5 } as const;

/** How far a backup or restore has got. */
export interface ArchiveProgress {
  docId: string;
  docs: number;
  totalDocs: number;
  entries: number;
}

/** How many documents, entries and checkpoints an archive holds. */
export interface ArchiveCounts {
  docs: number;
  entries: number;
  checkpoints: number;
}

/** What a backup holds of one document. */
export interface ArchivedDocument {
  docId: string;
  head: number;
  entries: LogEntry[];
  checkpoints: LogEntry[];
}

const READ_CHUNK = 1000;

/**
 * Streams an archive of the documents whose id matches `docs` (`*` one segment, `**` any depth;
 * default every document). Entries are copied as stored: encrypted entries stay encrypted.
 */
export async function* writeArchive(
  log: UpdateLog,
  options: { docs?: string; onProgress?: (progress: ArchiveProgress) => void } = {},
): AsyncGenerator<Uint8Array> {
  const pattern = options.docs === undefined ? undefined : compilePattern(`/${options.docs}`);
  const docIds = (await log.docIds()).filter((id) => pattern?.matches(id.split('/')) ?? true).sort();
  const hash = createHash('sha256');
  const counts: ArchiveCounts = { docs: 0, entries: 0, checkpoints: 0 };
  const emit = (type: number, write: (encoder: encoding.Encoder) => void): Uint8Array => {
    const bytes = frameRecord(type, write);
    hash.update(bytes);
    return bytes;
  };
  hash.update(ARCHIVE_MAGIC);
  yield ARCHIVE_MAGIC;
  yield emit(RecordType.header, (e) => {
    encoding.writeVarUint(e, ARCHIVE_VERSION);
    encoding.writeVarUint(e, Date.now());
  });
  for (const docId of docIds) {
    const head = await log.head(docId);
    yield emit(RecordType.document, (e) => {
      encoding.writeVarString(e, docId);
      encoding.writeVarUint(e, head);
    });
    for (let from = 1; from <= head; ) {
      const entries = await log.read(docId, { from, to: Math.min(head, from + READ_CHUNK - 1) });
      if (entries.length === 0) {
        from += READ_CHUNK; // pruned: skip ahead to what the log still holds
        continue;
      }
      for (const entry of entries)
        yield emit(RecordType.entry, (e) => encoding.writeVarUint8Array(e, encodeEntry(entry)));
      counts.entries += entries.length;
      from = (entries[entries.length - 1] as LogEntry).seq + 1;
    }
    // Only checkpoints within the entries archived (a live store may store a newer one meanwhile).
    for (let checkpoint = await log.latestCheckpoint(docId, head); checkpoint; ) {
      const frame = encodeEntry(checkpoint);
      yield emit(RecordType.checkpoint, (e) => encoding.writeVarUint8Array(e, frame));
      counts.checkpoints++;
      checkpoint = checkpoint.seq > 0 ? await log.latestCheckpoint(docId, checkpoint.seq - 1) : undefined;
    }
    counts.docs++;
    options.onProgress?.({ docId, docs: counts.docs, totalDocs: docIds.length, entries: counts.entries });
  }
  const digest = hash.digest('hex');
  yield frameRecord(RecordType.end, (e) => {
    encoding.writeVarUint(e, counts.docs);
    encoding.writeVarUint(e, counts.entries);
    encoding.writeVarUint(e, counts.checkpoints);
    encoding.writeVarString(e, digest);
  });
}

/**
 * Reads and verifies a whole archive, yielding its documents. Throws CORRUPT_ARCHIVE on a bad
 * magic, version, checksum, truncation (no end record) or trailing bytes.
 */
export async function* readArchive(source: AsyncIterable<Uint8Array>): AsyncGenerator<ArchivedDocument> {
  const hash = createHash('sha256');
  const counts: ArchiveCounts = { docs: 0, entries: 0, checkpoints: 0 };
  let current: ArchivedDocument | undefined;
  let ended = false;
  let first = true;
  for await (const { type, body, bytes } of records(source)) {
    if (ended) throw corrupt('bytes after the end record');
    if (first) {
      if (type !== RecordType.header) throw corrupt('the archive does not start with a header');
      const version = decoding.readVarUint(decoding.createDecoder(body));
      if (version !== ARCHIVE_VERSION) throw corrupt(`unknown archive version ${version}`);
      first = false;
      hash.update(ARCHIVE_MAGIC);
      hash.update(bytes);
      continue;
    }
    const decoder = decoding.createDecoder(body);
    if (type === RecordType.end) {
      const expected = [
        decoding.readVarUint(decoder),
        decoding.readVarUint(decoder),
        decoding.readVarUint(decoder),
      ];
      const digest = decoding.readVarString(decoder);
      if (digest !== hash.digest('hex')) throw corrupt('the checksum of the archive does not match');
      if (expected.join() !== [counts.docs, counts.entries, counts.checkpoints].join()) {
        throw corrupt('the end record counts do not match the archive');
      }
      if (current) yield current;
      ended = true;
      continue;
    }
    hash.update(bytes);
    if (type === RecordType.document) {
      if (current) yield current;
      current = {
        docId: decoding.readVarString(decoder),
        head: decoding.readVarUint(decoder),
        entries: [],
        checkpoints: [],
      };
      counts.docs++;
    } else if (type === RecordType.entry || type === RecordType.checkpoint) {
      if (!current) throw corrupt('an entry before any document');
      const entry = decodeEntry(decoding.readVarUint8Array(decoder));
      if (type === RecordType.entry) {
        current.entries.push(entry);
        counts.entries++;
      } else {
        current.checkpoints.push(entry);
        counts.checkpoints++;
      }
    } else {
      throw corrupt(`unknown record type ${type}`);
    }
  }
  if (!ended) throw corrupt('the archive is incomplete (no end record): was the backup interrupted?');
}

/**
 * Restores an archive into `log` with identical history: the same entries at the same seqs and
 * the same checkpoints. The archive is verified completely before anything is written (so
 * `open` is called twice); documents that already have entries in `log` are refused.
 */
export async function restoreArchive(
  open: () => AsyncIterable<Uint8Array>,
  log: UpdateLog,
  options: { onProgress?: (progress: ArchiveProgress) => void } = {},
): Promise<ArchiveCounts> {
  const docIds: string[] = [];
  for await (const doc of readArchive(open())) {
    if ((await log.head(doc.docId)) > 0) {
      throw new YStateError({
        code: ErrorCode.DOCUMENT_EXISTS,
        message: `"${doc.docId}" already has history in the target store; restore into an empty store`,
      });
    }
    const firstSeq = doc.entries[0]?.seq ?? 1;
    if (!log.restore && firstSeq !== 1) throw cannotRestorePruned(doc.docId, firstSeq);
    docIds.push(doc.docId);
  }
  const counts: ArchiveCounts = { docs: 0, entries: 0, checkpoints: 0 };
  for await (const doc of readArchive(open())) {
    await restoreDocument(log, doc);
    counts.docs++;
    counts.entries += doc.entries.length;
    counts.checkpoints += doc.checkpoints.length;
    options.onProgress?.({
      docId: doc.docId,
      docs: counts.docs,
      totalDocs: docIds.length,
      entries: counts.entries,
    });
  }
  return counts;
}

async function restoreDocument(log: UpdateLog, doc: ArchivedDocument): Promise<void> {
  const firstSeq = doc.entries[0]?.seq ?? doc.head + 1;
  if (log.restore) {
    await log.restore(doc.docId, doc.entries, doc.checkpoints);
    return;
  }
  if (firstSeq !== 1) throw cannotRestorePruned(doc.docId, firstSeq);
  for (let i = 0; i < doc.entries.length; i += READ_CHUNK) {
    const batch = doc.entries.slice(i, i + READ_CHUNK);
    const stored = await log.append(doc.docId, batch);
    if (stored[0]?.seq !== batch[0]?.seq)
      throw new Error(`unreachable: "${doc.docId}" restored at the wrong seq`);
  }
  for (const checkpoint of [...doc.checkpoints].reverse()) await log.storeCheckpoint(doc.docId, checkpoint);
}

/** One record: 4-byte length, 4-byte CRC32 of the body, the body (type, then fields). */
function frameRecord(type: number, write: (encoder: encoding.Encoder) => void): Uint8Array {
  const encoder = encoding.createEncoder();
  encoding.writeVarUint(encoder, type);
  write(encoder);
  const body = encoding.toUint8Array(encoder);
  const bytes = new Uint8Array(8 + body.length);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, body.length);
  view.setUint32(4, crc32(body));
  bytes.set(body, 8);
  return bytes;
}

/** Splits a byte stream into verified records (after checking the magic). */
async function* records(
  source: AsyncIterable<Uint8Array>,
): AsyncGenerator<{ type: number; body: Uint8Array; bytes: Uint8Array }> {
  let buffer: Uint8Array = new Uint8Array(0);
  let magicChecked = false;
  for await (const chunk of source) {
    buffer = concat(buffer, chunk);
    if (!magicChecked) {
      if (buffer.length < ARCHIVE_MAGIC.length) continue;
      if (!ARCHIVE_MAGIC.every((byte, i) => buffer[i] === byte)) throw corrupt('not a ystate archive');
      buffer = buffer.subarray(ARCHIVE_MAGIC.length);
      magicChecked = true;
    }
    while (buffer.length >= 8) {
      const view = new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength);
      const length = view.getUint32(0);
      if (buffer.length < 8 + length) break;
      const body = buffer.subarray(8, 8 + length);
      if (crc32(body) !== view.getUint32(4)) throw corrupt('a record checksum does not match');
      const bytes = buffer.subarray(0, 8 + length);
      buffer = buffer.subarray(8 + length);
      const decoder = decoding.createDecoder(body);
      const type = decoding.readVarUint(decoder);
      yield { type, body: body.subarray(decoder.pos), bytes };
    }
  }
  if (!magicChecked) throw corrupt('not a ystate archive');
  if (buffer.length > 0) throw corrupt('the archive ends in the middle of a record');
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b;
  const joined = new Uint8Array(a.length + b.length);
  joined.set(a);
  joined.set(b, a.length);
  return joined;
}

function cannotRestorePruned(docId: string, firstSeq: number): YStateError {
  return new YStateError({
    code: ErrorCode.INVALID_CONFIG,
    message: `"${docId}" was pruned before seq ${firstSeq}; this store cannot restore history that does not start at 1`,
  });
}

function corrupt(message: string): YStateError {
  return new YStateError({ code: ErrorCode.CORRUPT_ARCHIVE, message: `corrupt archive: ${message}` });
}
