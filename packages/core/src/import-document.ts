/**
 * Importing a document from another Yjs store (y-redis, y-leveldb, a directory or table of state
 * blobs): its updates go into an `UpdateLog` in order, one entry each, then a checkpoint at the
 * head built by applying them to a Y.Doc (never by merging them); `verifyImport` then re-reads the
 * document from the log and compares it with what the source held. Every importer uses these two.
 */

import * as Y from 'yjs';
import { ErrorCode, YStateError } from './errors.js';
import { applyEntries, loadInto, yieldToEventLoop } from './history.js';
import type { EntryInput } from './log-entry.js';
import type { UpdateLog } from './update-log.js';

/** What `importDocument` needs. */
export interface ImportDocumentOptions {
  /** Where the document goes; it must not have a log for `docId` yet. */
  log: UpdateLog;
  /** The ystate docId. */
  docId: string;
  /** The source's updates in the order it applies them, in batches (each batch is one append). */
  updates: AsyncIterable<readonly Uint8Array[]>;
  /** Origin recorded on the imported entries (`y-redis`, `y-leveldb`, …). */
  origin: string;
  /** Says where the update at `index` (0-based) came from, for the error when it is not a Yjs update. */
  describe: (index: number) => string;
  /** Time recorded on the imported entries (default: now; Yjs stores keep no times). */
  time?: number;
  /** Store a checkpoint at the head once imported (default true). */
  checkpoint?: boolean;
}

/** What `importDocument` did. */
export interface ImportResult {
  docId: string;
  /** How many updates were imported (= the head of the new log). */
  entries: number;
  /** The seq of the stored checkpoint, when one was stored. */
  checkpointSeq?: number;
  /** The source's state as one update, built from the updates read (what a fresh load must yield). */
  state: Uint8Array;
}

/**
 * Imports one document's updates. Throws DOCUMENT_EXISTS when the target already has entries for
 * `docId`, INVALID_UPDATE when an update is not a Yjs update (what was appended before it stays).
 */
export async function importDocument(options: ImportDocumentOptions): Promise<ImportResult> {
  const { log, docId, origin } = options;
  const time = options.time ?? Date.now();
  if ((await log.head(docId)) > 0) {
    throw new YStateError({
      code: ErrorCode.DOCUMENT_EXISTS,
      message: `"${docId}" already has a log; import into a new docId or remove it first`,
    });
  }
  const ydoc = new Y.Doc();
  try {
    let imported = 0;
    for await (const updates of options.updates) {
      if (updates.length === 0) continue;
      const batch: EntryInput[] = updates.map((payload, i) => {
        applyOrThrow(ydoc, payload, options.describe(imported + i));
        return { kind: 'update', time, origin, flags: 0, payload };
      });
      imported += (await log.append(docId, batch)).length;
      // Large documents: let other work run between batches.
      await yieldToEventLoop();
    }
    const state = Y.encodeStateAsUpdate(ydoc);
    const result: ImportResult = { docId, entries: imported, state };
    if (imported > 0 && options.checkpoint !== false) {
      await log.storeCheckpoint(docId, {
        kind: 'checkpoint',
        seq: imported,
        time,
        origin,
        flags: 0,
        payload: state,
      });
      result.checkpointSeq = imported;
    }
    return result;
  } finally {
    ydoc.destroy();
  }
}

/**
 * Re-reads an imported document from `log` twice, as a server loads it (latest checkpoint + tail)
 * and entry by entry from seq 1, and compares each with `state` (the source's): same updates known
 * (state vector) and same deletions. Resolves with what differs, or undefined when both match.
 */
export async function verifyImport(
  log: UpdateLog,
  docId: string,
  state: Uint8Array,
): Promise<string | undefined> {
  const source = docOf(state);
  const loaded = new Y.Doc();
  const replayed = new Y.Doc();
  try {
    const head = await loadInto(log, docId, loaded);
    for (let from = 1; from <= head; from += 1000) {
      applyEntries(replayed, await log.read(docId, { from, to: Math.min(head, from + 999) }));
      await yieldToEventLoop();
    }
    const expected = Y.snapshot(source);
    if (!Y.equalSnapshots(Y.snapshot(loaded), expected))
      return `"${docId}" loaded from the log (checkpoint + tail) differs from the source`;
    if (!Y.equalSnapshots(Y.snapshot(replayed), expected))
      return `"${docId}" replayed from its entries differs from the source`;
    return undefined;
  } finally {
    source.destroy();
    loaded.destroy();
    replayed.destroy();
  }
}

function docOf(state: Uint8Array): Y.Doc {
  const ydoc = new Y.Doc();
  Y.applyUpdate(ydoc, state);
  return ydoc;
}

function applyOrThrow(ydoc: Y.Doc, update: Uint8Array, where: string): void {
  try {
    Y.applyUpdate(ydoc, update);
  } catch (cause) {
    throw new YStateError({ code: ErrorCode.INVALID_UPDATE, message: `${where} is not a Yjs update`, cause });
  }
}
