/**
 * What a document's log file holds, read from disk: the header's base seq, the valid records, and
 * what follows them. A torn tail (a crash's unfinished last write: nothing whole after the first
 * bad record) is cut when a document opens; damage before the tail (whole records after the bad
 * one) is corruption, which only an operator may cut (salvage). See docs/file-store.md.
 */

import type { FileHandle } from 'node:fs/promises';
import { countRecordsAfter, decodeFrame, HEADER_SIZE, readHeader, scanRecords } from './record.js';
import type { CorruptionReport } from './store-options.js';

/** A log file as it is on disk. */
export interface LogSurvey {
  /** The seq before the first record. */
  baseSeq: number;
  /** Where each valid record starts. */
  offsets: number[];
  /** Where the valid records end. */
  validEnd: number;
  /** The file's size. */
  size: number;
  /** Set when whole records follow the first bad one. */
  damage: Omit<CorruptionReport, 'docId' | 'file'> | undefined;
}

/** Reads the header and walks the records of a log file; throws CORRUPT_ENTRY when the header is not ours. */
export async function surveyLog(handle: FileHandle, file: string): Promise<LogSurvey> {
  const { size } = await handle.stat();
  const baseSeq = await readHeader(handle, 'log', file);
  const offsets: number[] = [];
  const validEnd = await scanRecords(handle, HEADER_SIZE, size, (frame, offset) => {
    try {
      if (decodeFrame(frame, file).seq !== baseSeq + offsets.length + 1) return false;
    } catch {
      return false;
    }
    offsets.push(offset);
    return true;
  });
  if (validEnd === size) return { baseSeq, offsets, validEnd, size, damage: undefined };
  const lastValidSeq = baseSeq + offsets.length;
  let lastFoundSeq = lastValidSeq;
  // Records after the damage carry rising seqs; a stray old record does not count.
  const wholeEntriesAfter = await countRecordsAfter(handle, validEnd, size, (frame) => {
    let seq: number;
    try {
      seq = decodeFrame(frame, file).seq;
    } catch {
      return false;
    }
    if (seq <= lastFoundSeq) return false;
    lastFoundSeq = seq;
    return true;
  });
  const damage =
    wholeEntriesAfter === 0
      ? undefined
      : {
          damagedAt: validEnd,
          validEntries: offsets.length,
          firstLostSeq: lastValidSeq + 1,
          lastFoundSeq,
          lostEntries: lastFoundSeq - lastValidSeq,
          wholeEntriesAfter,
          lostBytes: size - validEnd,
        };
  return { baseSeq, offsets, validEnd, size, damage };
}

/** The message of the CORRUPT_ENTRY error (and the log line) for damage before the tail. */
export function describeDamage(report: CorruptionReport): string {
  return (
    `damaged at byte ${report.damagedAt}, after ${report.validEntries} whole entries: ` +
    `${report.lostEntries} entries (seq ${report.firstLostSeq}–${report.lastFoundSeq}, ${report.lostBytes} bytes) ` +
    `from there on cannot be read (${report.wholeEntriesAfter} of them are still whole after the damage). ` +
    `The document refuses to open; \`ystate salvage "${report.docId}"\` keeps the ${report.validEntries} entries ` +
    'before the damage and a copy of the file'
  );
}
