/**
 * The in-memory `UpdateLog`: for tests, browsers and single-process use where nothing has to
 * survive a restart. It keeps copies of every payload, so callers can reuse their buffers and
 * cannot reach into stored entries through what `read` returns.
 */

import { ErrorCode, YStateError } from './errors.js';
import {
  assertRangeBound,
  assertStorableEntry,
  copyEntry,
  type EntryInput,
  type LogEntry,
} from './log-entry.js';
import type { SeqRange, UpdateLog } from './update-log.js';

interface DocumentLog {
  /** The highest seq ever assigned; pruning does not lower it. */
  head: number;
  /** Retained entries, dense: `entries[i].seq === head - entries.length + 1 + i`. */
  entries: LogEntry[];
  /** Checkpoints in ascending seq order, at most one per seq. */
  checkpoints: LogEntry[];
}

/** An `UpdateLog` held in memory; `close()` drops everything. */
export class MemoryUpdateLog implements UpdateLog {
  private readonly docs = new Map<string, DocumentLog>();
  private closed = false;

  /** Appends a batch; throws INVALID_VALUE (appending nothing) when any entry is malformed. */
  async append(docId: string, entries: readonly EntryInput[]): Promise<LogEntry[]> {
    this.assertOpen();
    // Validate and copy the whole batch before touching the log, so a bad entry appends nothing.
    const inputs = entries.map((entry, index) =>
      copyEntry(assertStorableEntry(entry, `entry ${index} for "${docId}"`)),
    );
    if (inputs.length === 0) return [];
    // No await from here on: the batch is assigned its seqs in one synchronous step, which is what
    // keeps seqs dense and each batch contiguous under concurrent appends to the same document.
    let doc = this.docs.get(docId);
    if (doc === undefined) {
      doc = { head: 0, entries: [], checkpoints: [] };
      this.docs.set(docId, doc);
    }
    const stored: LogEntry[] = [];
    for (const input of inputs) {
      doc.head += 1;
      const entry: LogEntry = { ...input, seq: doc.head };
      doc.entries.push(entry);
      stored.push(copyEntry(entry));
    }
    return stored;
  }

  /** Writes history with its original seqs into a document that has none (restoring a backup). */
  async restore(
    docId: string,
    entries: readonly LogEntry[],
    checkpoints: readonly LogEntry[],
  ): Promise<void> {
    this.assertOpen();
    if ((this.docs.get(docId)?.head ?? 0) > 0) {
      throw new YStateError({ code: ErrorCode.DOCUMENT_EXISTS, message: `"${docId}" already has history` });
    }
    const copies = entries.map((entry, index) =>
      copyEntry(assertStorableEntry(entry, `entry ${index} for "${docId}"`)),
    );
    copies.forEach((entry, i) => {
      if (i > 0 && entry.seq !== (copies[i - 1] as LogEntry).seq + 1) {
        throw new YStateError({
          code: ErrorCode.INVALID_VALUE,
          message: `restored seqs of "${docId}" are not dense`,
        });
      }
    });
    const head = copies[copies.length - 1]?.seq ?? Math.max(0, ...checkpoints.map((c) => c.seq));
    const sorted = checkpoints.map(copyEntry).sort((a, b) => a.seq - b.seq);
    this.docs.set(docId, { head, entries: copies, checkpoints: sorted });
  }

  async read(docId: string, range: SeqRange = {}): Promise<LogEntry[]> {
    this.assertOpen();
    assertRangeBound(range.from, 'from');
    assertRangeBound(range.to, 'to');
    const { from, to } = range;
    const doc = this.docs.get(docId);
    if (doc === undefined || doc.entries.length === 0) return [];
    const first = doc.head - doc.entries.length + 1;
    const start = Math.max(Math.ceil(from ?? first), first) - first;
    const end = Math.min(Math.floor(to ?? doc.head), doc.head) - first + 1;
    if (end <= start) return [];
    return doc.entries.slice(start, end).map(copyEntry);
  }

  async head(docId: string): Promise<number> {
    this.assertOpen();
    return this.docs.get(docId)?.head ?? 0;
  }

  async latestCheckpoint(
    docId: string,
    atOrBefore = Number.POSITIVE_INFINITY,
  ): Promise<LogEntry | undefined> {
    this.assertOpen();
    const checkpoints = this.docs.get(docId)?.checkpoints ?? [];
    for (let i = checkpoints.length - 1; i >= 0; i--) {
      const checkpoint = checkpoints[i]!;
      if (checkpoint.seq <= atOrBefore) return copyEntry(checkpoint);
    }
    return undefined;
  }

  /**
   * Stores a checkpoint, replacing one stored at the same seq. Throws INVALID_VALUE unless it is a
   * well-formed entry of kind `checkpoint` whose seq names an entry already appended.
   */
  async storeCheckpoint(docId: string, checkpoint: LogEntry): Promise<void> {
    this.assertOpen();
    const where = `checkpoint for "${docId}"`;
    assertStorableEntry(checkpoint, where);
    if (checkpoint.kind !== 'checkpoint') {
      throw invalid(`${where}: kind must be "checkpoint", got "${checkpoint.kind}"`);
    }
    const doc = this.docs.get(docId);
    const head = doc?.head ?? 0;
    if (!Number.isSafeInteger(checkpoint.seq) || checkpoint.seq < 1 || checkpoint.seq > head) {
      throw invalid(`${where}: seq ${checkpoint.seq} does not name an appended entry (head is ${head})`);
    }
    const copy = copyEntry(checkpoint);
    const checkpoints = doc!.checkpoints;
    let index = checkpoints.length;
    while (index > 0 && checkpoints[index - 1]!.seq >= copy.seq) index -= 1;
    const replaces = checkpoints[index]?.seq === copy.seq;
    checkpoints.splice(index, replaces ? 1 : 0, copy);
  }

  async prune(docId: string, seq: number): Promise<void> {
    this.assertOpen();
    if (Number.isNaN(seq)) throw invalid('prune: seq must be a number');
    const doc = this.docs.get(docId);
    if (doc === undefined) return;
    const first = doc.head - doc.entries.length + 1;
    const drop = Math.min(Math.max(Math.ceil(seq) - first, 0), doc.entries.length);
    if (drop > 0) doc.entries.splice(0, drop);
    // Keep the newest checkpoint at or below `seq` (loading from there needs it) and all above.
    let keepFrom = 0;
    doc.checkpoints.forEach((checkpoint, index) => {
      if (checkpoint.seq <= seq) keepFrom = index;
    });
    if (keepFrom > 0) doc.checkpoints.splice(0, keepFrom);
  }

  async docIds(): Promise<string[]> {
    this.assertOpen();
    return [...this.docs.keys()];
  }

  /** Drops every entry; later calls reject with DOCUMENT_CLOSED. Closing twice is harmless. */
  async close(): Promise<void> {
    this.closed = true;
    this.docs.clear();
  }

  private assertOpen(): void {
    if (this.closed) {
      throw new YStateError({ code: ErrorCode.DOCUMENT_CLOSED, message: 'the update log is closed' });
    }
  }
}

function invalid(message: string): YStateError {
  return new YStateError({ code: ErrorCode.INVALID_VALUE, message });
}
