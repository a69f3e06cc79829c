/**
 * `importYRedisDocument`: copies a y-redis 1.x document (`<name>:updates`) into any ystate
 * `UpdateLog`, one entry per y-redis update in list order, then stores a checkpoint at the head
 * built by applying the updates to a Y.Doc (never by merging them). Used by `ystate migrate`.
 */

import { type EntryInput, ErrorCode, type UpdateLog, YStateError } from '@ystate/core';
import type { Cluster, Redis } from 'ioredis';
import * as Y from 'yjs';
import { Y_REDIS_ORIGIN, YRedisUpdateLog } from './y-redis-log.js';

export interface YRedisImportOptions {
  /** A connection to the Redis that holds the y-redis document (not closed here). */
  redis: Redis | Cluster;
  /** The y-redis document name (as passed to `bindState`): the list is `<name>:updates`. */
  name: string;
  /** Where the document goes; it must not have a log for `docId` yet. */
  log: UpdateLog;
  /** The ystate docId (default: `name`). */
  docId?: string;
  /** Origin recorded on the imported entries (default `y-redis`). */
  origin?: string;
  /** Time recorded on the imported entries (default: now; y-redis keeps no times). */
  time?: number;
  /** Updates read and appended per batch (default 1,000). */
  batchSize?: number;
  /** Store a checkpoint at the head once imported (default true). */
  checkpoint?: boolean;
}

export interface YRedisImportResult {
  docId: string;
  /** How many updates were imported (= the head of the new log). */
  entries: number;
  /** The seq of the stored checkpoint, when one was stored. */
  checkpointSeq?: number;
  /** The imported document's state as one update (what a fresh load yields). */
  state: Uint8Array;
}

/**
 * Imports one y-redis document. Throws DOCUMENT_EXISTS when the target already has entries for
 * `docId`, INVALID_UPDATE when a y-redis list element is not a Yjs update. Writers should be
 * stopped first: updates pushed after the import started are not copied.
 */
export async function importYRedisDocument(options: YRedisImportOptions): Promise<YRedisImportResult> {
  const docId = options.docId ?? options.name;
  const origin = options.origin ?? Y_REDIS_ORIGIN;
  const time = options.time ?? Date.now();
  const batchSize = options.batchSize ?? 1000;
  const { log } = options;
  if ((await log.head(docId)) > 0) {
    throw new YStateError({
      code: ErrorCode.DOCUMENT_EXISTS,
      message: `"${docId}" already has a log; import into a new docId or remove it first`,
    });
  }
  const source = new YRedisUpdateLog({ redis: options.redis, readPageSize: batchSize });
  const end = await source.head(options.name);
  const ydoc = new Y.Doc();
  try {
    let imported = 0;
    for (let from = 1; from <= end; from += batchSize) {
      const updates = await source.read(options.name, { from, to: Math.min(end, from + batchSize - 1) });
      const batch: EntryInput[] = updates.map((update) => {
        applyOrThrow(ydoc, update.payload, options.name, update.seq);
        return { kind: 'update', time, origin, flags: 0, payload: update.payload };
      });
      const stored = await log.append(docId, batch);
      imported += stored.length;
      // Large documents: let other work run between batches.
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
    const state = Y.encodeStateAsUpdate(ydoc);
    const result: YRedisImportResult = { docId, entries: imported, state };
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

function applyOrThrow(ydoc: Y.Doc, update: Uint8Array, name: string, seq: number): void {
  try {
    Y.applyUpdate(ydoc, update);
  } catch (cause) {
    throw new YStateError({
      code: ErrorCode.INVALID_UPDATE,
      message: `element ${seq - 1} of "${name}:updates" is not a Yjs update`,
      cause,
    });
  }
}
