/**
 * `importYRedisDocument`: copies a y-redis 1.x document (`<name>:updates`) into any ystate
 * `UpdateLog` with core's `importDocument`: one entry per y-redis update in list order, then a
 * checkpoint at the head. `yRedisUpdates` reads the list in batches. Used by `ystate migrate`.
 */

import { type ImportResult, importDocument, type UpdateLog } from '@ystate/core';
import type { Cluster, Redis } from 'ioredis';
import { Y_REDIS_ORIGIN, YRedisUpdateLog } from './y-redis-log.js';

/** What `importYRedisDocument` needs. */
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

/** What `importYRedisDocument` did. */
export type YRedisImportResult = ImportResult;

/**
 * Imports one y-redis document. Throws DOCUMENT_EXISTS when the target already has entries for
 * `docId`, INVALID_UPDATE when a y-redis list element is not a Yjs update. Writers should be
 * stopped first: updates pushed after the import started are not copied.
 */
export function importYRedisDocument(options: YRedisImportOptions): Promise<YRedisImportResult> {
  const { name } = options;
  return importDocument({
    log: options.log,
    docId: options.docId ?? name,
    updates: yRedisUpdates(options.redis, name, options.batchSize),
    origin: options.origin ?? Y_REDIS_ORIGIN,
    describe: (index) => `element ${index} of "${name}:updates"`,
    ...(options.time !== undefined ? { time: options.time } : {}),
    ...(options.checkpoint !== undefined ? { checkpoint: options.checkpoint } : {}),
  });
}

/** The updates of the y-redis document `name` as they are when called, `batchSize` (default 1,000) at a time. */
export async function* yRedisUpdates(
  redis: Redis | Cluster,
  name: string,
  batchSize = 1000,
): AsyncGenerator<Uint8Array[]> {
  const source = new YRedisUpdateLog({ redis, readPageSize: batchSize });
  const end = await source.head(name);
  for (let from = 1; from <= end; from += batchSize) {
    const entries = await source.read(name, { from, to: Math.min(end, from + batchSize - 1) });
    yield entries.map((entry) => entry.payload);
  }
}
