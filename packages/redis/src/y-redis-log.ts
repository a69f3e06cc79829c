/**
 * `YRedisUpdateLog`: the key layout of y-redis 1.x, so ystate nodes and y-redis `RedisPersistence`
 * instances share live documents. A document is the list `<prefix><docId>:updates` of raw Yjs
 * updates; after pushing, the new list length is published on channel `<prefix><docId>`. That
 * layout has room for nothing else: seqs are list positions (seq = index + 1), entries carry no
 * time, origin or flags, there are no lifecycle entries, checkpoints or codecs, and nothing may be
 * trimmed (y-redis counts list positions). docs/redis.md says how ystate behaves there.
 */

import {
  type EntryInput,
  ErrorCode,
  type LogEntry,
  type SeqRange,
  type UpdateLog,
  YStateError,
} from '@ystate/core';
import type { Cluster, Redis } from 'ioredis';
import { scanKeys } from './connection.js';
import { checkEntry, invalid, unavailable } from './frames.js';
import { checkDocId, checkPrefix, docIdOfYRedisKey, yRedisKeyPattern, yRedisKeys } from './keys.js';
import { type ScriptCommands, withScripts } from './scripts.js';

/** The origin of entries read from the y-redis layout, which does not record one. */
export const Y_REDIS_ORIGIN = 'y-redis';

/** Options of `new YRedisUpdateLog(options)`. */
export interface YRedisUpdateLogOptions {
  /** The command connection. The log does not close it. */
  redis: Redis | Cluster;
  /** Prepended to y-redis's names (default ''): the key is `<prefix><docId>:updates`. */
  prefix?: string;
  /** Most entries fetched per round trip by `read` (default 10,000). */
  readPageSize?: number;
}

const MAX_SEQ = Number.MAX_SAFE_INTEGER;

/** An `UpdateLog` in the y-redis 1.x key layout (updates only; no checkpoints, no pruning). */
export class YRedisUpdateLog implements UpdateLog {
  /** The append script publishes the new length, as y-redis does: the engine must not publish again. */
  readonly publishesAppends = true;
  readonly prefix: string;
  private readonly redis: Redis | Cluster;
  private readonly commands: ScriptCommands;
  private readonly pageSize: number;
  private closed = false;

  /** A log in y-redis 1.x's key layout on `options.redis` (which it does not close). */
  constructor(options: YRedisUpdateLogOptions) {
    this.prefix = options.prefix ?? '';
    checkPrefix(this.prefix, 'y-redis');
    this.redis = options.redis;
    this.commands = withScripts(options.redis);
    this.pageSize = options.readPageSize ?? 10_000;
  }

  /**
   * Appends Yjs updates. Only plain `update` entries fit the layout: anything else (lifecycle
   * events, codec flags) is refused with INVALID_VALUE, since y-redis would apply it as an update.
   * Resolves with the entries as stored: time 0 and origin `y-redis`, as `read` gives them back.
   */
  async append(docId: string, entries: readonly EntryInput[]): Promise<LogEntry[]> {
    this.assertOpen();
    checkDocId(docId);
    entries.forEach((entry, index) => {
      const where = `entry ${index} for "${docId}"`;
      checkEntry(entry, where);
      if (entry.kind !== 'update' || entry.flags !== 0) {
        throw invalid(
          `${where}: the y-redis layout stores plain Yjs updates only (got kind "${entry.kind}", flags ${entry.flags})`,
        );
      }
    });
    if (entries.length === 0) return [];
    const keys = yRedisKeys(this.prefix, docId);
    const payloads = entries.map((entry) => Buffer.from(entry.payload));
    let first: number;
    try {
      first = await this.commands.ystateYRedisAppend(keys.updates, keys.channel, ...payloads);
    } catch (cause) {
      throw unavailable(cause, `appending ${entries.length} updates to "${docId}"`);
    }
    return entries.map((entry, i) => toEntry(entry.payload, first + i));
  }

  async read(docId: string, range: SeqRange = {}): Promise<LogEntry[]> {
    this.assertOpen();
    checkDocId(docId);
    if (Number.isNaN(range.from) || Number.isNaN(range.to))
      throw invalid('read: range bounds must be numbers');
    const from = Math.max(1, Math.ceil(range.from ?? 1));
    const to = Math.min(MAX_SEQ, Math.floor(range.to ?? MAX_SEQ));
    if (to < from || from > MAX_SEQ) return [];
    const key = yRedisKeys(this.prefix, docId).updates;
    const entries: LogEntry[] = [];
    // The list only grows, so pages read at different times still line up.
    for (let next = from; next <= to; ) {
      const last = Math.min(to, next + this.pageSize - 1);
      let updates: Buffer[];
      try {
        updates = await this.redis.lrangeBuffer(key, next - 1, last - 1);
      } catch (cause) {
        throw unavailable(cause, `reading "${docId}"`);
      }
      updates.forEach((update, i) => {
        entries.push(toEntry(update, next + i));
      });
      if (updates.length < last - next + 1) break;
      next = last + 1;
    }
    return entries;
  }

  async head(docId: string): Promise<number> {
    this.assertOpen();
    checkDocId(docId);
    try {
      return await this.redis.llen(yRedisKeys(this.prefix, docId).updates);
    } catch (cause) {
      throw unavailable(cause, `reading the head of "${docId}"`);
    }
  }

  /** The y-redis layout has no checkpoints: always undefined (loading replays the whole list). */
  async latestCheckpoint(docId: string): Promise<LogEntry | undefined> {
    this.assertOpen();
    checkDocId(docId);
    return undefined;
  }

  /** Stores nothing: the y-redis layout has no place for checkpoints. */
  async storeCheckpoint(docId: string): Promise<void> {
    this.assertOpen();
    checkDocId(docId);
  }

  /** Drops nothing: y-redis addresses updates by list position, so trimming would break it. */
  async prune(docId: string): Promise<void> {
    this.assertOpen();
    checkDocId(docId);
  }

  async docIds(): Promise<string[]> {
    this.assertOpen();
    let keys: string[];
    try {
      keys = await scanKeys(this.redis, yRedisKeyPattern(this.prefix));
    } catch (cause) {
      throw unavailable(cause, 'listing documents');
    }
    const ids = new Set<string>();
    for (const key of keys) {
      const docId = docIdOfYRedisKey(this.prefix, key);
      if (docId !== undefined && docId.length > 0) ids.add(docId);
    }
    return [...ids];
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  private assertOpen(): void {
    if (this.closed)
      throw new YStateError({ code: ErrorCode.DOCUMENT_CLOSED, message: 'the update log is closed' });
  }
}

/** An update from the y-redis list as an entry at `seq`, owning its bytes. */
export function toEntry(update: Uint8Array, seq: number): LogEntry {
  return { seq, kind: 'update', time: 0, origin: Y_REDIS_ORIGIN, flags: 0, payload: new Uint8Array(update) };
}
