/**
 * A document's checkpoint file: records of kind `checkpoint` appended beside the log. Rewritten
 * atomically to the newest `keepCheckpoints` once it holds twice as many, and by `prune`.
 */

import { type FileHandle, open } from 'node:fs/promises';
import { encodeEntry, type LogEntry } from '@ystate/core';
import { commitTempFile, copyRange, writeFully, writeTempFile } from './file-io.js';
import {
  countRecordsAfter,
  decodeFrame,
  encodeHeader,
  encodeRecords,
  HEADER_SIZE,
  RECORD_OVERHEAD,
  readHeader,
  readRecords,
  scanRecords,
} from './record.js';
import { RwLock } from './rw-lock.js';
import { corruptFile, hasErrorCode } from './store-errors.js';
import type { StoreContext } from './store-options.js';

/** Where one stored checkpoint sits in the file. */
interface Slot {
  seq: number;
  offset: number;
  end: number;
}

/** The checkpoints of one document. Opened per operation: checkpoints are rare and keep no handle. */
export class CheckpointFile {
  readonly #docId: string;
  readonly #path: string;
  readonly #context: StoreContext;
  readonly #lock = new RwLock();
  /** The records in file order, once loaded. */
  #slots: Slot[] | undefined;
  #size = 0;

  constructor(docId: string, path: string, context: StoreContext) {
    this.#docId = docId;
    this.#path = path;
    this.#context = context;
  }

  /** The stored checkpoint with the greatest seq at most `atOrBefore` (the latest stored one on a tie). */
  latest(atOrBefore = Number.POSITIVE_INFINITY): Promise<LogEntry | undefined> {
    return this.#lock.exclusive(async () => {
      const slot = newestAtOrBefore(await this.#load(), atOrBefore);
      if (slot === undefined) return undefined;
      const handle = await open(this.#path, 'r');
      try {
        const [checkpoint] = await readRecords(handle, [slot.offset], 0, 1, slot.end, this.#path);
        return checkpoint;
      } finally {
        await handle.close();
      }
    });
  }

  /** Appends a checkpoint (a later one at the same seq supersedes the earlier) and compacts when due. */
  store(checkpoint: LogEntry): Promise<void> {
    return this.#lock.exclusive(async () => {
      const slots = await this.#load();
      const { bytes } = encodeRecords([encodeEntry(checkpoint)]);
      const sync = this.#context.fsync !== 'never';
      try {
        if (this.#size === 0) await this.#create(bytes, sync);
        else await this.#append(bytes, sync);
      } catch (error) {
        this.#slots = undefined;
        throw error;
      }
      const offset = this.#size === 0 ? HEADER_SIZE : this.#size;
      slots.push({ seq: checkpoint.seq, offset, end: offset + bytes.length });
      this.#size = offset + bytes.length;
      if (slots.length > 2 * this.#context.keepCheckpoints) {
        const newest = distinct(slots)
          .sort((a, b) => b.seq - a.seq)
          .slice(0, this.#context.keepCheckpoints);
        await this.#rewrite(newest);
      }
    });
  }

  /** Drops the checkpoints older than the newest one at or below `seq`: loading from `seq` on never needs them. */
  dropObsolete(seq: number): Promise<void> {
    return this.#lock.exclusive(async () => {
      const slots = await this.#load();
      const base = newestAtOrBefore(slots, seq);
      if (base === undefined) return;
      const kept = distinct(slots).filter((slot) => slot.seq >= base.seq);
      if (kept.length < slots.length) await this.#rewrite(kept);
    });
  }

  async #create(bytes: Uint8Array, sync: boolean): Promise<void> {
    const tmpPath = `${this.#path}.tmp`;
    await writeTempFile(
      tmpPath,
      async (handle) => {
        await writeFully(handle, encodeHeader('checkpoints', 0), 0);
        await writeFully(handle, bytes, HEADER_SIZE);
      },
      sync,
    );
    await commitTempFile(tmpPath, this.#path, sync);
  }

  async #append(bytes: Uint8Array, sync: boolean): Promise<void> {
    const handle = await open(this.#path, 'r+');
    try {
      await writeFully(handle, bytes, this.#size);
      if (sync) await handle.datasync();
    } catch (error) {
      // Best effort: if the cut fails too, the next load finds the torn record and truncates it.
      await handle.truncate(this.#size).catch(() => undefined);
      throw error;
    } finally {
      await handle.close();
    }
  }

  /** Replaces the file with the records of `kept`, in seq order (temp + fsync + rename + fsync dir). */
  async #rewrite(kept: Slot[]): Promise<void> {
    kept.sort((a, b) => a.seq - b.seq);
    const tmpPath = `${this.#path}.tmp`;
    const rewritten: Slot[] = [];
    let size = HEADER_SIZE;
    try {
      const source = await open(this.#path, 'r');
      try {
        await writeTempFile(
          tmpPath,
          async (target) => {
            await writeFully(target, encodeHeader('checkpoints', 0), 0);
            for (const slot of kept) {
              await copyRange(source, slot.offset, slot.end, target, size);
              rewritten.push({ seq: slot.seq, offset: size, end: size + slot.end - slot.offset });
              size += slot.end - slot.offset;
            }
          },
          true,
        );
      } finally {
        await source.close();
      }
      await commitTempFile(tmpPath, this.#path, true);
    } catch (error) {
      this.#slots = undefined;
      throw error;
    }
    this.#slots = rewritten;
    this.#size = size;
  }

  /**
   * The slots, scanning the file (and truncating a torn tail) on first use. Damage before the
   * tail (whole checkpoints after a bad record) is refused with CORRUPT_ENTRY, leaving the file
   * as it is, until salvaged.
   */
  async #load(): Promise<Slot[]> {
    if (this.#slots !== undefined) return this.#slots;
    const survey = await this.#survey();
    if (survey === undefined) {
      this.#slots = [];
      this.#size = 0;
      return this.#slots;
    }
    const { slots, validEnd, size, after } = survey;
    if (after.length > 0) {
      throw corruptFile(
        this.#path,
        `damaged at byte ${validEnd}, after ${slots.length} whole checkpoints: ${after.length} checkpoints ` +
          `(seq ${after.join(', ')}; ${size - validEnd} bytes) from there on cannot be used. ` +
          `\`ystate salvage "${this.#docId}"\` keeps the ${slots.length} before the damage and a copy of the file`,
      );
    }
    // Read-only, a torn tail is skipped, not cut (a checkpoint may be being written).
    if (validEnd < size && !this.#context.readOnly) {
      const handle = await open(this.#path, 'r+');
      try {
        await handle.truncate(validEnd);
        if (this.#context.fsync !== 'never') await handle.sync();
      } finally {
        await handle.close();
      }
    }
    this.#slots = slots;
    this.#size = validEnd;
    if (validEnd < size && !this.#context.readOnly) {
      this.#context.report({
        docId: this.#docId,
        file: this.#path,
        truncatedBytes: size - validEnd,
        validEntries: slots.length,
      });
    }
    return slots;
  }

  /**
   * Keeps the whole checkpoints before any damage whose seq is at most `head` (salvage cut the log
   * there), copying the file first with `keepCopy`; with `dryRun` only reports. Returns the seqs
   * dropped, and the copy.
   */
  salvage(
    head: number,
    dryRun: boolean,
    keepCopy: (file: string) => Promise<string>,
  ): Promise<{ dropped: number[]; copy: string | undefined }> {
    return this.#lock.exclusive(async () => {
      this.#slots = undefined;
      const survey = await this.#survey();
      if (survey === undefined) return { dropped: [], copy: undefined };
      const kept = survey.slots.filter((slot) => slot.seq <= head);
      const dropped = [
        ...survey.slots.filter((slot) => slot.seq > head).map((slot) => slot.seq),
        ...survey.after,
      ];
      if (dryRun || (dropped.length === 0 && survey.validEnd === survey.size)) {
        return { dropped: dropped.sort((a, b) => a - b), copy: undefined };
      }
      const copy = await keepCopy(this.#path);
      await this.#rewrite(kept);
      return { dropped: dropped.sort((a, b) => a - b), copy };
    });
  }

  /** Reads the file: its whole checkpoints, where they end, and the seqs of whole checkpoints after a bad record. */
  async #survey(): Promise<{ slots: Slot[]; validEnd: number; size: number; after: number[] } | undefined> {
    let handle: FileHandle;
    try {
      handle = await open(this.#path, 'r');
    } catch (error) {
      if (!hasErrorCode(error, 'ENOENT')) throw error;
      return undefined;
    }
    try {
      const { size } = await handle.stat();
      await readHeader(handle, 'checkpoints', this.#path);
      const slots: Slot[] = [];
      const checkpointOf = (frame: Uint8Array): LogEntry | undefined => {
        try {
          const checkpoint = decodeFrame(frame, this.#path);
          return checkpoint.kind === 'checkpoint' ? checkpoint : undefined;
        } catch {
          return undefined;
        }
      };
      const validEnd = await scanRecords(handle, HEADER_SIZE, size, (frame, offset) => {
        const checkpoint = checkpointOf(frame);
        if (checkpoint === undefined) return false;
        slots.push({ seq: checkpoint.seq, offset, end: offset + RECORD_OVERHEAD + frame.length });
        return true;
      });
      const after: number[] = [];
      if (validEnd < size) {
        await countRecordsAfter(handle, validEnd, size, (frame) => {
          const checkpoint = checkpointOf(frame);
          if (checkpoint === undefined) return false;
          after.push(checkpoint.seq);
          return true;
        });
      }
      return { slots, validEnd, size, after };
    } finally {
      await handle.close();
    }
  }
}

/** The slot with the greatest seq at most `bound`; of equal seqs, the one stored last. */
function newestAtOrBefore(slots: readonly Slot[], bound: number): Slot | undefined {
  let best: Slot | undefined;
  for (const slot of slots)
    if (slot.seq <= bound && (best === undefined || slot.seq >= best.seq)) best = slot;
  return best;
}

/** One slot per seq: the one stored last. */
function distinct(slots: readonly Slot[]): Slot[] {
  const bySeq = new Map<number, Slot>();
  for (const slot of slots) bySeq.set(slot.seq, slot);
  return [...bySeq.values()];
}
